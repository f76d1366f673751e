package sso_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// seedMany creates the ERP application and n users' mappings plus n config
// entries, returning the expected password of each user.
func seedMany(tb testing.TB, s *sso.Store, n int) map[string]string {
	tb.Helper()
	mustCreate(tb, s, erpApp())
	mustCreate(tb, s, sso.Application{Name: "Cfg", Type: sso.ConfigStore, UserAccounts: []string{"ERP Users"}})
	want := map[string]string{}
	for i := range n {
		user := fmt.Sprintf(`CORP\u%03d`, i)
		pw := fmt.Sprintf("pw-%03d", i)
		if err := s.SetMapping(as(admin), "ERP", sso.Mapping{WindowsAccount: user, ExternalUser: "X" + user}, secrets(pw, "D")); err != nil {
			tb.Fatal(err)
		}
		if err := s.SetConfigInfo(as(admin), "Cfg", user, sso.ConfigInfo{"pw": sso.NewSecret(pw)}); err != nil {
			tb.Fatal(err)
		}
		want[user] = pw
	}
	return want
}

// checkAll reads every credential and config entry back.
func checkAll(tb testing.TB, s *sso.Store, want map[string]string) {
	tb.Helper()
	for user, pw := range want {
		c, err := s.GetCredentials(as(sso.Identity{User: user, Groups: []string{"ERP Users"}}), "ERP")
		if err != nil || reveal(c)[0] != pw {
			tb.Fatalf("%s: credentials %v, %v", user, c, err)
		}
		info, err := s.GetConfigInfo(as(admin), "Cfg", user)
		if err != nil || info.Get("pw") != pw {
			tb.Fatalf("%s: config %v", user, err)
		}
	}
}

func TestStore_Regenerate(t *testing.T) {
	e := newEnv(t, &sso.Options{RegenerateBatch: 4})
	want := seedMany(t, e.s, 10)
	before := sso.MappingKey("ERP", `CORP\u001`)
	old, _ := sso.RawGet(e.s, before)
	if err := e.s.Regenerate(as(alice)); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("non-admin regenerates: %v", err)
	}
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if st := e.s.Status(); st.Generation != 2 || st.Next != 0 {
		t.Fatalf("status %+v", st)
	}
	now, _ := sso.RawGet(e.s, before)
	if slices.Equal(old, now) {
		t.Fatal("record not re-encrypted")
	}
	checkAll(t, e.s, want)
	// A record of the previous generation committed late (by a shared
	// transaction that sealed it before the pass ended) still opens,
	// through the back link; the next regenerate re-encrypts it. Two
	// generations back, nothing opens it.
	u1 := as(sso.Identity{User: `CORP\u001`, Groups: []string{"ERP Users"}})
	if err := sso.RawSet(e.s, before, old); err != nil {
		t.Fatal(err)
	}
	if c, err := e.s.GetCredentials(u1, "ERP"); err != nil || reveal(c)[0] != want[`CORP\u001`] {
		t.Fatalf("record of the previous generation: %v", err)
	}
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	checkAll(t, e.s, want)
	if err := sso.RawSet(e.s, before, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetCredentials(u1, "ERP"); !sso.IsCorruption(err) {
		t.Fatalf("record sealed two generations back: %v", err)
	}
}

// TestRegenerate_crash crashes a regenerate at every step (each save of
// the key file, each commit of the secret state and each batch of
// re-encrypted records), keeping only what was synced, and checks that
// every record is readable after a reopen and that a second Regenerate
// finishes the pass.
func TestRegenerate_crash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	const keyPath = "/keys/group.sso-key"
	type clone struct {
		step string
		fs   *vfs.MemFS
	}
	var clones []clone
	opts := &sso.Options{RegenerateBatch: 3}
	sso.SetHook(opts, func(step string) error {
		clones = append(clones, clone{step, mem.CrashClone(vfs.CrashCloneCfg{})})
		return nil
	})
	g := openGroupDurability(t, mem, "/group", biztier.Sync)
	o := *opts
	o.Keys = keyFile(mem, keyPath)
	s, err := g.SSO(t.Context(), &o)
	if err != nil {
		t.Fatal(err)
	}
	want := seedMany(t, s, 7) // 14 records: 5 batches of 3
	if err := s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	steps := map[string]int{}
	for _, c := range clones {
		steps[c.step]++
	}
	if steps[sso.StepSavedBoth] != 1 || steps[sso.StepNext] != 1 || steps[sso.StepBatch] < 5 || steps[sso.StepDone] != 1 || steps[sso.StepSavedNew] != 1 {
		t.Fatalf("steps seen: %v", steps)
	}
	for i, c := range clones {
		t.Run(fmt.Sprintf("%02d-%s", i, c.step), func(t *testing.T) {
			g := openGroup(t, c.fs, "/group")
			defer g.Close()
			s, err := g.SSO(t.Context(), &sso.Options{Keys: keyFile(c.fs, keyPath)})
			if err != nil {
				t.Fatal(err)
			}
			st := s.Status()
			if st.Generation != 1 && st.Generation != 2 {
				t.Fatalf("status %+v", st)
			}
			checkAll(t, s, want)
			if err := s.Regenerate(as(admin)); err != nil {
				t.Fatal(err)
			}
			if st2 := s.Status(); st2.Next != 0 || st2.Generation <= st.Generation {
				t.Fatalf("after finishing: %+v (was %+v)", st2, st)
			}
			checkAll(t, s, want)
		})
	}
	_ = crashtest.RaceEnabled
}

// TestRegenerate_passiveLearnsThroughLog: a node that holds only the old
// secret (the passive of a pair, whose key file was copied before the
// regenerate) opens the store after the regenerate, learns the new secret
// from the store, and saves it in its own key file.
func TestRegenerate_passiveLearnsThroughLog(t *testing.T) {
	e := newEnv(t, nil)
	seedMany(t, e.s, 3)
	passiveKey := "/passive/group.sso-key"
	if err := e.fs.MkdirAll("/passive", 0o755); err != nil {
		t.Fatal(err)
	}
	writeAll(t, e.fs, passiveKey, readAll(t, e.fs, "/keys/group.sso-key"))
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	e.close(t)
	// Two regenerates: the passive's generation 1 no longer links to the
	// current one. Only the previous generation learns the current.
	g := openGroup(t, e.fs, e.dir)
	if _, err := g.SSO(t.Context(), &sso.Options{Keys: keyFile(e.fs, passiveKey)}); !errors.Is(err, sso.ErrWrongSecret) {
		t.Fatalf("two generations behind: %v", err)
	}
	g.Close()

	// One regenerate behind: learns.
	e2 := newEnv(t, nil)
	want := seedMany(t, e2.s, 3)
	writeAll(t, e2.fs, "/keys/passive", readAll(t, e2.fs, "/keys/group.sso-key"))
	if err := e2.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	e2.close(t)
	g = openGroup(t, e2.fs, e2.dir)
	defer g.Close()
	passive := keyFile(e2.fs, "/keys/passive")
	if err := g.CheckSSOSecret(t.Context(), passive); err != nil {
		t.Fatalf("check before promotion: %v", err)
	}
	s, err := g.SSO(t.Context(), &sso.Options{Keys: passive})
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, s, want)
	// The passive's key file now holds generation 2 alone: it opens the
	// store without the link.
	if st := s.Status(); st.Generation != 2 {
		t.Fatalf("status %+v", st)
	}
}
