package mgmt_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

// FuzzImport feeds arbitrary documents to Import over a store that already
// holds started artifacts. Import must not panic; a refused document must
// leave the store exactly as it was (no partial import) and be reported as
// a *BindingError or a rule error; an accepted one must export to a file
// that imports again to the same model.
//
//	go test ./mgmt -run '^$' -fuzz FuzzImport -fuzztime 60s
func FuzzImport(f *testing.F) {
	fixture, err := os.ReadFile("testdata/orders.xml")
	require.NoError(f, err)
	f.Add(string(fixture))
	f.Add(routingBinding(2))
	f.Add(`<BindingInfo><SendPortCollection><SendPort Name="x"><Filter>&lt;Filter&gt;&lt;Group /&gt;&lt;/Filter&gt;</Filter></SendPort></SendPortCollection></BindingInfo>`)
	f.Add(`<BindingInfo><ReceivePortCollection><ReceivePort Name="r"><ReceiveLocations><ReceiveLocation Name="l" /></ReceiveLocations></ReceivePort></ReceivePortCollection></BindingInfo>`)
	f.Add(`<?xml version="1.0" encoding="utf-16"?><BindingInfo/>`)
	f.Add(`<BindingInfo><ModuleRefCollection><ModuleRef Name="[Application:A]"><Services><Service Name="o"><Ports><Port Name="p"><SendPortRef Name="missing" /></Port></Ports></Service></Services></ModuleRef></ModuleRefCollection></BindingInfo>`)
	// The real files in ../shared are not seeds: a failing input would be
	// written under testdata/fuzz, copying part of them into the repository.
	f.Fuzz(func(t *testing.T, doc string) {
		ctx := context.Background()
		e := newEnv(t)
		_, err := importString(t, e.s, routingBinding(2))
		require.NoError(t, err)
		require.NoError(t, e.s.Start(ctx, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "P01"}))
		before := snap(e.s)
		beforeSubs := e.subs.stored(t)

		// Half the inputs also apply the orchestration states they record.
		opts := &mgmt.ImportOptions{ApplyStates: len(doc)%2 == 1, RegisterAdapters: len(doc)%3 != 0}
		_, err = e.s.Import(ctx, strings.NewReader(doc), opts)
		if err != nil {
			var be *mgmt.BindingError
			if !errors.As(err, &be) && !errors.Is(err, mgmt.ErrInvalid) && !errors.Is(err, mgmt.ErrExists) &&
				!errors.Is(err, mgmt.ErrState) {
				t.Fatalf("unexpected kind of error: %v", err)
			}
			require.Equal(t, before, snap(e.s))
			require.Equal(t, beforeSubs, e.subs.stored(t))
			return
		}
		out := export(t, e.s, "")
		e2 := newEnv(t)
		_, err = e2.s.Import(ctx, strings.NewReader(out), opts)
		require.NoError(t, err, "re-import of the export of an accepted file:\n%s", out)
		a, b := snap(e.s), snap(e2.s)
		// The second store has no started port, and its states come from
		// no file: compare configuration only.
		a.Subscriptions, b.Subscriptions = nil, nil
		for _, p := range a.SendPorts {
			p.State = mgmt.PortBound
		}
		require.Equal(t, a, b)
	})
}
