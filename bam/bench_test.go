package bam

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkStreams measures events per second through the direct and the
// buffered stream on a real disk with Sync durability, one instance's
// begin, update (three checkpoints) and end per iteration, flushed every
// batch events:
//
//	go test ./bam -run XXX -bench Streams -benchtime 20000x
//
// The buffered figure includes the decoder catching up at the end, so
// both measure events folded into the tables.
func BenchmarkStreams(b *testing.B) {
	for _, kind := range []string{"direct", "buffered"} {
		for _, batch := range []int{1, 100} {
			b.Run("stream="+kind+"/flush="+strconv.Itoa(batch), func(b *testing.B) {
				set, err := store.Open(setOptions(vfs.Default, b.TempDir(), wal.Sync))
				if err != nil {
					b.Fatal(err)
				}
				defer set.Close()
				c := &clock{t: epoch}
				s, err := Open(context.Background(), dbOf(set), &Options{Now: c.Now})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				d, err := ParseDefinitionBytes([]byte(orderDef))
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Deploy(bg, d, "bench"); err != nil {
					b.Fatal(err)
				}
				es := s.DirectStream(batch)
				if kind == "buffered" {
					es = s.BufferedStream(batch)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					id := strconv.Itoa(i)
					i++
					if err := es.BeginActivity(bg, "Order", id); err != nil {
						b.Fatal(err)
					}
					if err := es.UpdateActivity(bg, "Order", id, "Received", epoch, "Region", "North", "Amount", 12.5); err != nil {
						b.Fatal(err)
					}
					if err := es.EndActivity(bg, "Order", id); err != nil {
						b.Fatal(err)
					}
				}
				if err := es.Flush(bg); err != nil {
					b.Fatal(err)
				}
				if err := s.WaitCaughtUp(bg); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "events/s")
				if _, err := s.Instance(bg, "Order", strconv.Itoa(i-1)); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkInterceptor measures the cost of a bound tracking profile on a
// persistence point: the same commit (a MessageBox write) with and without
// the interceptor's events for one shape with a milestone and two XPath
// data items.
//
//	go test ./bam -run XXX -bench Interceptor -benchtime 3000x -count 3
func BenchmarkInterceptor(b *testing.B) {
	for _, c := range []struct {
		on    bool
		delay time.Duration
	}{{false, 0}, {true, -1}, {true, 0}} {
		on := c.on
		name := "profile=off"
		if on {
			name = "profile=on/decoder-delay=" + map[bool]string{true: "none", false: "default"}[c.delay < 0]
		}
		b.Run(name, func(b *testing.B) {
			set, err := store.Open(setOptions(vfs.Default, b.TempDir(), wal.Sync))
			if err != nil {
				b.Fatal(err)
			}
			defer set.Close()
			clk := &clock{t: epoch}
			s, err := Open(context.Background(), dbOf(set), &Options{Now: clk.Now, DecoderDelay: c.delay})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			d, _ := ParseDefinitionBytes([]byte(orderDef))
			if err := s.Deploy(bg, d, "bench"); err != nil {
				b.Fatal(err)
			}
			p := &TrackingProfile{Name: "Order", Dimensions: []ProfileDimension{
				{Name: "ActivityID", DataType: ItemTraceID},
				{Name: "Received", DataType: "DATETIME", Levels: []DataLevel{{SourceTypeSelected: SourceShape, OrchestrationReference: "O", ShapeID: "s1"}}},
				{Name: "Region", DataType: "NVARCHAR", Levels: []DataLevel{{SourceTypeSelected: SourcePayload, OrchestrationReference: "O", ShapeID: "s1", MessageName: "m", MessagePart: "p", XPath: "/*[local-name()='Order']/*[local-name()='Region']"}}},
				{Name: "Amount", DataType: "FLOAT", Levels: []DataLevel{{SourceTypeSelected: SourcePayload, OrchestrationReference: "O", ShapeID: "s1", MessageName: "m", MessagePart: "p", XPath: "/*[local-name()='Order']/*[local-name()='Amount']"}}},
			}}
			if on {
				if err := s.BindProfile(bg, p, nil); err != nil {
					b.Fatal(err)
				}
			}
			ic := s.Interceptor("O")
			msg := TrackedMessage{Name: "m", Parts: map[string][]byte{"p": []byte("<Order><Region>North</Region><Amount>12.5</Amount>" + string(make([]byte, 0)) + "</Order>")}}
			body := make([]byte, 2048)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				tx := set.NewTxn()
				if err := tx.BatchOf(store.MessageBox).Set([]byte("\xf0"+strconv.Itoa(i)), body, nil); err != nil {
					b.Fatal(err)
				}
				run := ic.Start(strconv.Itoa(i))
				if err := ic.Shape(bg, tx, run, "s1", msg); err != nil {
					b.Fatal(err)
				}
				if err := ic.Complete(bg, tx, run); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Commit(bg); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.WaitCaughtUp(bg); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "persistence-points/s")
			st := set.Stats().Log
			b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/op")
			b.ReportMetric(float64(st.Frames)/float64(b.N), "frames/op")
		})
	}
}
