package biztier_test

import (
	"context"
	"errors"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const sysMessageType = "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"

// TestManagementFilters_TypedAndNamedAsBizTalk configures send ports the
// way binding files do (short property names, values as text) and
// publishes messages the way adapters do (either spelling of a system
// property, typed values): a filter value is compared in its property's
// type, and the two spellings of BTS.MessageType are one property.
func TestManagementFilters_TypedAndNamedAsBizTalk(t *testing.T) {
	ctx := context.Background()
	g, err := biztier.Open("g", &biztier.Options{FS: vfs.NewMem(), Durability: biztier.NoSync, CheckpointInterval: -1,
		MessageBox: &messagebox.Options{PropertySchemas: []messagebox.PropertySchema{{Name: "Orders.Total", Type: messagebox.TypeInt64}}}})
	require.NoError(t, err)
	defer g.Close()
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mg.Update(ctx, func(tx *mgmt.Tx) error {
		for _, err := range []error{
			tx.PutApplication(&mgmt.Application{Name: "Orders"}),
			tx.PutHost(&mgmt.Host{Name: "SendHost"}),
			tx.PutAdapter(&mgmt.Adapter{Name: "FILE"}),
		} {
			if err != nil {
				return err
			}
		}
		port := func(name string, f mgmt.Filter) error {
			return tx.PutSendPort(&mgmt.SendPort{Name: name, Application: "Orders", Filter: f,
				Primary: &mgmt.Transport{Adapter: "FILE", Address: "out", Handler: "SendHost"}})
		}
		if err := port("Big", mgmt.Filter{{
			{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:orders#Order")},
			{Property: "Orders.Total", Op: mgmt.OpGreater, Value: mgmt.Text("100")},
		}}); err != nil {
			return err
		}
		// The same type test spelled out in full, on a property with no
		// schema: compared in the type each message's value has.
		return port("Regional", mgmt.Filter{{
			{Property: sysMessageType, Op: mgmt.OpEqual, Value: mgmt.Text("urn:orders#Order")},
			{Property: "Orders.Region", Op: mgmt.OpLess, Value: mgmt.Text("5")},
		}})
	}))
	require.NoError(t, mg.StartApplication(ctx, "Orders"))

	order := func(typeName string, props ...messagebox.Property) *messagebox.Message {
		return messagebox.NewMessage([]byte("<Order/>"), append(props, messagebox.Promoted(typeName, messagebox.String("urn:orders#Order")))...)
	}
	for _, tc := range []struct {
		name string
		m    *messagebox.Message
		want []string // send ports reached
	}{
		{"int above the text value", order("BTS.MessageType", messagebox.Promoted("Orders.Total", messagebox.Int64(250))), []string{"Big"}},
		{"int below: no text comparison", order(sysMessageType, messagebox.Promoted("Orders.Total", messagebox.Int64(99))), nil},
		{"string on an int property is not an int", order(sysMessageType, messagebox.Promoted("Orders.Total", messagebox.String("250"))), nil},
		{"untyped property, int value", order("BTS.MessageType", messagebox.Promoted("Orders.Region", messagebox.Int64(3))), []string{"Regional"}},
		{"untyped property, int value above", order("BTS.MessageType", messagebox.Promoted("Orders.Region", messagebox.Int64(40))), nil},
		{"untyped property, string value compares as text", order("BTS.MessageType", messagebox.Promoted("Orders.Region", messagebox.String("40"))), []string{"Regional"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs, err := mb.Explain(ctx, tc.m)
			require.NoError(t, err)
			var got []string
			for _, x := range xs {
				if x.Matched {
					sp, _ := mb.Subscription(x.Subscription)
					if sp.Name == "SendPort:Big/filter" {
						got = append(got, "Big")
					} else if sp.Name == "SendPort:Regional/filter" {
						got = append(got, "Regional")
					}
				}
			}
			require.ElementsMatch(t, tc.want, got)
			_, _, err = mb.Publish(ctx, tc.m)
			if len(tc.want) == 0 {
				require.True(t, errors.Is(err, messagebox.ErrNoSubscribers), "%v", err)
			} else {
				require.NoError(t, err)
			}
		})
	}

	// The subscription holds the canonical name and the schema's type: what
	// Explain shows as the type used.
	for _, sub := range mb.Subscriptions() {
		if sub.Name != "SendPort:Big/filter" {
			continue
		}
		require.Equal(t, sysMessageType, sub.Predicate[0][0].Property)
		require.Equal(t, messagebox.Int64(100), sub.Predicate[0][1].Value)
	}
	// A stored message answers to both spellings.
	id, _, err := mb.Publish(ctx, order("BTS.MessageType", messagebox.Promoted("Orders.Total", messagebox.Int64(500))))
	require.NoError(t, err)
	m, err := mb.GetMessage(ctx, id)
	require.NoError(t, err)
	p, ok := m.Property("BTS.MessageType")
	require.True(t, ok)
	require.Equal(t, sysMessageType, p.Name)
	_, ok = m.Property(sysMessageType)
	require.True(t, ok)
}

// TestManagementFilters_BadTypedValueRefused: a filter value that is not a
// value of its property's declared type is refused when the port is
// enlisted, naming the property, instead of never matching.
func TestManagementFilters_BadTypedValueRefused(t *testing.T) {
	ctx := context.Background()
	g, err := biztier.Open("g", &biztier.Options{FS: vfs.NewMem(), Durability: biztier.NoSync, CheckpointInterval: -1,
		MessageBox: &messagebox.Options{PropertySchemas: []messagebox.PropertySchema{{Name: "Orders.Total", Type: messagebox.TypeInt64}}}})
	require.NoError(t, err)
	defer g.Close()
	mg, err := g.Management()
	require.NoError(t, err)
	err = mg.Update(ctx, func(tx *mgmt.Tx) error {
		for _, err := range []error{
			tx.PutApplication(&mgmt.Application{Name: "Orders"}),
			tx.PutHost(&mgmt.Host{Name: "SendHost"}),
			tx.PutAdapter(&mgmt.Adapter{Name: "FILE"}),
		} {
			if err != nil {
				return err
			}
		}
		return tx.PutSendPort(&mgmt.SendPort{Name: "Big", Application: "Orders",
			Filter:  mgmt.Filter{{{Property: "Orders.Total", Op: mgmt.OpGreater, Value: mgmt.Text("lots")}}},
			Primary: &mgmt.Transport{Adapter: "FILE", Address: "out", Handler: "SendHost"}})
	})
	require.NoError(t, err)
	err = mg.StartApplication(ctx, "Orders")
	require.ErrorIs(t, err, messagebox.ErrInvalidPredicate)
	require.Contains(t, err.Error(), "Orders.Total")
}
