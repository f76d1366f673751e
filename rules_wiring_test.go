package biztier_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const wiringPolicy = `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <ruleset name="Approve">
    <version major="1" minor="0" />
    <bindings>
      <xmldocument ref="x" doctype="Order"><selector>/Order</selector></xmldocument>
    </bindings>
    <rule name="small" priority="0" active="true">
      <if>
        <compare operator="less than">
          <lhs><function><xmldocumentmember xmldocumentref="x" type="int" sideeffects="false"><field>Total</field></xmldocumentmember></function></lhs>
          <rhs><constant><int>100</int></constant></rhs>
        </compare>
      </if>
      <then>
        <function>
          <xmldocumentmember xmldocumentref="x" type="string" sideeffects="true"><field>Status</field>
            <argument><constant><string>approved</string></constant></argument>
          </xmldocumentmember>
        </function>
      </then>
    </rule>
  </ruleset>
</brl>`

// TestGroup_RulesCommitOnTheGroupLog: the rule store's changes are group
// commits (the LSN moves) and survive closing and reopening the group; a
// runtime on the reopened store runs the deployed version.
func TestGroup_RulesCommitOnTheGroupLog(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	rs, err := g.Rules(nil)
	require.NoError(t, err)
	again, err := g.Rules(nil)
	require.NoError(t, err)
	require.Same(t, rs, again, "opened once")
	doc, err := brl.Parse([]byte(wiringPolicy))
	require.NoError(t, err)
	before := g.Stats().LSN
	require.NoError(t, rs.Import(ctx, doc.Document))
	require.NoError(t, rs.PublishPolicy(ctx, "Approve", rules.Version{Major: 1}))
	require.NoError(t, rs.Deploy(ctx, "Approve", rules.Version{Major: 1}))
	require.Equal(t, before+3, g.Stats().LSN, "one group commit per change")
	require.NoError(t, g.Close())
	_, err = g.Rules(nil)
	require.True(t, errors.Is(err, biztier.ErrClosed), "Rules after Close: %v", err)
	_, err = rs.Policies()
	require.True(t, errors.Is(err, biztier.ErrClosed) && errors.Is(err, rules.ErrClosed), "store after group Close: %v", err)

	g, err = biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	defer g.Close()
	rs, err = g.Rules(nil)
	require.NoError(t, err)
	p, err := rs.Deployed("Approve")
	require.NoError(t, err)
	require.Equal(t, rules.StateDeployed, p.State)
	hist, err := rs.History()
	require.NoError(t, err)
	require.Len(t, hist, 1)

	d, err := rules.ParseXMLDocument("Order", strings.NewReader(`<Order><Total>42</Total><Status>new</Status></Order>`))
	require.NoError(t, err)
	_, ver, err := rules.NewRuntime(rs, nil).Execute(ctx, "Approve", d)
	require.NoError(t, err)
	require.Equal(t, rules.Version{Major: 1}, ver)
	require.Contains(t, d.String(), "<Status>approved</Status>")
}

// TestGroup_RulesRideBackup: the rule store is restored with the group, to
// the mark: a version deployed before the mark is deployed in the restored
// group, and an undeploy after it is not there.
func TestGroup_RulesRideBackup(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	defer g.Close()
	rs, err := g.Rules(nil)
	require.NoError(t, err)
	doc, err := brl.Parse([]byte(wiringPolicy))
	require.NoError(t, err)
	v1 := rules.Version{Major: 1}
	require.NoError(t, rs.Import(ctx, doc.Document))
	require.NoError(t, rs.PublishPolicy(ctx, "Approve", v1))
	require.NoError(t, rs.Deploy(ctx, "Approve", v1))
	bk := biztier.DirShipper(fs, "backups")
	_, err = g.Backup(ctx, bk, &biztier.BackupOptions{MarkName: "deployed"})
	require.NoError(t, err)
	require.NoError(t, rs.Undeploy(ctx, "Approve", v1))
	_, err = g.BackupLog(ctx, bk, &biztier.BackupOptions{MarkName: "undeployed"})
	require.NoError(t, err)

	for _, tc := range []struct {
		mark  string
		state rules.State
		hist  int
	}{{"deployed", rules.StateDeployed, 1}, {"undeployed", rules.StateUndeployed, 2}} {
		dir := "restored-" + tc.mark
		_, err := biztier.Restore(ctx, bk, dir, &biztier.RestoreOptions{FS: fs, Mark: tc.mark})
		require.NoError(t, err)
		r, err := biztier.Open(dir, memOptions(fs))
		require.NoError(t, err)
		rrs, err := r.Rules(nil)
		require.NoError(t, err)
		p, err := rrs.Policy("Approve", v1)
		require.NoError(t, err)
		require.Equal(t, tc.state, p.State, "at mark %s", tc.mark)
		hist, err := rrs.History()
		require.NoError(t, err)
		require.Len(t, hist, tc.hist)
		require.NoError(t, r.Close())
	}
}

// TestGroup_RulesSurviveCrash: every rule store change acknowledged before
// a crash (unsynced data lost at random) is there after reopening.
func TestGroup_RulesSurviveCrash(t *testing.T) {
	ctx := context.Background()
	doc, err := brl.Parse([]byte(wiringPolicy))
	require.NoError(t, err)
	v1 := rules.Version{Major: 1}
	steps := []struct {
		op    func(*rules.Store) error
		state rules.State
	}{
		{func(s *rules.Store) error { return s.Import(ctx, doc.Document) }, rules.StateSaved},
		{func(s *rules.Store) error { return s.PublishPolicy(ctx, "Approve", v1) }, rules.StatePublished},
		{func(s *rules.Store) error { return s.Deploy(ctx, "Approve", v1) }, rules.StateDeployed},
		{func(s *rules.Store) error { return s.Undeploy(ctx, "Approve", v1) }, rules.StateUndeployed},
	}
	for seed := range uint64(8) {
		fs := vfs.NewCrashableMem()
		require.NoError(t, fs.MkdirAll("g", 0o755))
		d, err := fs.OpenDir("")
		require.NoError(t, err)
		require.NoError(t, d.Sync())
		require.NoError(t, d.Close())
		g, err := biztier.Open("g", memOptions(fs))
		require.NoError(t, err)
		rs, err := g.Rules(nil)
		require.NoError(t, err)
		n := int(seed % uint64(len(steps)+1))
		for _, st := range steps[:n] {
			require.NoError(t, st.op(rs))
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(seed, 1))})
		require.NoError(t, g.Close())

		g, err = biztier.Open("g", memOptions(crashed))
		require.NoError(t, err, "seed %d", seed)
		rs, err = g.Rules(nil)
		require.NoError(t, err)
		p, err := rs.Policy("Approve", v1)
		if n == 0 {
			require.True(t, errors.Is(err, rules.ErrNotFound), "seed %d: %v", seed, err)
		} else {
			require.NoError(t, err, "seed %d", seed)
			require.Equal(t, steps[n-1].state, p.State, "seed %d after %d steps", seed, n)
		}
		require.NoError(t, g.Close())
	}
}
