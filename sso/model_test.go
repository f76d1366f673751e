package sso_test

import (
	"errors"
	"flag"
	"testing"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/sso"
	"pgregory.net/rapid"
)

// TestStore_model runs random sequences of mapping and config writes,
// deletes, lookups, regenerates and reopens against a plain map, and
// checks after every step that the store and the model agree.
func TestStore_model(t *testing.T) {
	// Each run opens a group: under the race detector run a fifth as many,
	// unless -rapid.checks says otherwise.
	if f := flag.Lookup("rapid.checks"); crashtest.RaceEnabled && f != nil && f.Value.String() == f.DefValue {
		if err := flag.Set("rapid.checks", "20"); err != nil {
			t.Fatal(err)
		}
		defer flag.Set("rapid.checks", f.DefValue)
	}
	rapid.Check(t, func(rt *rapid.T) {
		e := newEnv(t, &sso.Options{RegenerateBatch: 2})
		defer e.close(t)
		mustCreate(t, e.s, erpApp())
		mustCreate(t, e.s, sso.Application{Name: "Cfg", Type: sso.ConfigStore, UserAccounts: []string{"ERP Users"}})
		users := []string{`CORP\u0`, `CORP\u1`, `CORP\u2`, `CORP\u3`}
		maps := map[string]string{} // user → password
		cfg := map[string]string{}  // identifier → value
		gen := uint64(1)
		pick := rapid.SampledFrom(users)
		value := rapid.StringMatching(`[a-z0-9]{0,12}`)
		userCtx := func(u string) sso.Identity { return sso.Identity{User: u, Groups: []string{"ERP Users"}} }
		rt.Repeat(map[string]func(*rapid.T){
			"setMapping": func(rt *rapid.T) {
				u, v := pick.Draw(rt, "user"), value.Draw(rt, "pw")
				if err := e.s.SetMapping(as(userCtx(u)), "ERP", sso.Mapping{WindowsAccount: u, ExternalUser: "X"}, secrets(v, "d")); err != nil {
					rt.Fatal(err)
				}
				maps[u] = v
			},
			"deleteMapping": func(rt *rapid.T) {
				u := pick.Draw(rt, "user")
				err := e.s.DeleteMapping(as(appAdmin), "ERP", sso.Mapping{WindowsAccount: u})
				if _, ok := maps[u]; ok != (err == nil) {
					rt.Fatalf("delete %s: %v (in model: %v)", u, err, ok)
				}
				delete(maps, u)
			},
			"setConfig": func(rt *rapid.T) {
				id, v := pick.Draw(rt, "id"), value.Draw(rt, "v")
				if err := e.s.SetConfigInfo(as(admin), "Cfg", id, sso.ConfigInfo{"v": sso.NewSecret(v)}); err != nil {
					rt.Fatal(err)
				}
				cfg[id] = v
			},
			"deleteConfig": func(rt *rapid.T) {
				id := pick.Draw(rt, "id")
				err := e.s.DeleteConfigInfo(as(admin), "Cfg", id)
				if _, ok := cfg[id]; ok != (err == nil) {
					rt.Fatalf("delete config %s: %v", id, err)
				}
				delete(cfg, id)
			},
			"regenerate": func(rt *rapid.T) {
				if err := e.s.Regenerate(as(admin)); err != nil {
					rt.Fatal(err)
				}
				gen++
			},
			"reopen": func(rt *rapid.T) {
				e.close(t)
				g := openGroup(t, e.fs, e.dir)
				s, err := g.SSO(t.Context(), &sso.Options{Keys: e.keys, RegenerateBatch: 2})
				if err != nil {
					g.Close()
					rt.Fatal(err)
				}
				e.g, e.s = g, s
			},
			"": func(rt *rapid.T) {
				if st := e.s.Status(); st.Generation != gen || st.Next != 0 {
					rt.Fatalf("status %+v, want generation %d", st, gen)
				}
				for _, u := range users {
					c, err := e.s.GetCredentials(as(userCtx(u)), "ERP")
					want, ok := maps[u]
					switch {
					case ok && (err != nil || c.Fields[0].Reveal() != want):
						rt.Fatalf("%s: %v, want its mapping", u, err)
					case !ok && !errors.Is(err, sso.ErrAccessDenied):
						rt.Fatalf("%s: %v, want no mapping", u, err)
					}
					info, err := e.s.GetConfigInfo(as(userCtx(u)), "Cfg", u)
					want, ok = cfg[u]
					switch {
					case ok && (err != nil || info.Get("v") != want):
						rt.Fatalf("config %s: %v", u, err)
					case !ok && !errors.Is(err, sso.ErrNotFound):
						rt.Fatalf("config %s: %v, want not found", u, err)
					}
				}
			},
		})
	})
}
