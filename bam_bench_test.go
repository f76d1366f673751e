package biztier_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/messagebox"
)

// BenchmarkBAM_messaging measures what a bound tracking profile costs the
// messaging flow: a 2 KiB message published through Group.Update, with
// the port's interceptor adding its BAM events (a begin, two data items
// by context property and XPath, an end) to the same commit, or not; the
// decoder's catching up is inside the timing. On disk, Sync durability:
//
//	go test -run XXX -bench BAM_messaging -benchtime 3000x .
func BenchmarkBAM_messaging(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run("profile="+map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			ctx := context.Background()
			g, err := biztier.Open(b.TempDir(), &biztier.Options{Durability: biztier.Sync, CheckpointInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			mb, err := g.MessageBox()
			if err != nil {
				b.Fatal(err)
			}
			if err := mb.CreateHost(ctx, "send"); err != nil {
				b.Fatal(err)
			}
			if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "orders", Host: "send",
				Predicate: messagebox.Or(messagebox.And(messagebox.Eq("urn:p#Type", messagebox.String("order"))))}); err != nil {
				b.Fatal(err)
			}
			s, err := g.BAM(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			def, err := bam.ParseDefinition(strings.NewReader(wiringActivity))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Deploy(ctx, def, "bench"); err != nil {
				b.Fatal(err)
			}
			if on {
				p := &bam.TrackingProfile{Name: "PO", Dimensions: []bam.ProfileDimension{
					{Name: "ActivityID", DataType: bam.ItemTraceID},
					{Name: "Customer", DataType: "NVARCHAR", Levels: []bam.DataLevel{{SourceTypeSelected: bam.SourceMessagingPayload, PortName: "RcvOrders",
						XPath: "/*[local-name()='Order']/*[local-name()='Customer']"}}},
				}}
				if err := s.BindProfile(ctx, p, nil); err != nil {
					b.Fatal(err)
				}
			}
			ic := s.PortInterceptor("RcvOrders")
			body := []byte("<Order><Customer>Contoso</Customer><Pad>" + strings.Repeat("x", 2000) + "</Pad></Order>")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				m := messagebox.NewMessage(body, messagebox.Promoted("urn:p#Type", messagebox.String("order")))
				_, err := g.Update(ctx, func(tx *biztier.Tx) error {
					if _, err := mb.PublishTx(ctx, tx, m); err != nil {
						return err
					}
					if !on {
						return nil
					}
					return ic.Message(ctx, tx, strconv.Itoa(i), bam.TrackedMessage{Parts: map[string][]byte{"body": body}})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := s.WaitCaughtUp(wctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if on {
				if _, err := s.Instance(ctx, "PO", strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
