package bam

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// addShared seeds a fuzzer with the shared BAM files, when present.
func addShared(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(sharedBAM, "*.xml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseDefinition(f *testing.F) {
	addShared(f)
	f.Add([]byte(orderDef))
	f.Add([]byte(def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="X" DataType="INT"/></Activity>`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDefinitionBytes(b)
		if err != nil {
			return
		}
		var out bytes.Buffer
		require.NoError(t, d.Export(&out))
		again, err := ParseDefinition(&out)
		require.NoError(t, err, "%s", out.String())
		require.Equal(t, d, again)
	})
}

func FuzzParseProfile(f *testing.F) {
	addShared(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfileBytes(b)
		if err != nil {
			return
		}
		var out bytes.Buffer
		require.NoError(t, p.ExportUTF16(&out))
		again, err := ParseProfile(&out)
		require.NoError(t, err, "%s", out.String())
		require.Equal(t, p, again)
	})
}

// FuzzRecords feeds every value decoder the same bytes: none may panic,
// and whatever decodes re-encodes to bytes that decode to the same value.
func FuzzRecords(f *testing.F) {
	in := &instance{id: "1", begun: true, fields: []field{{"A", IntValue(3)}, {"B", TimeValue(time.Unix(5, 6))}, {"C", StringValue("x")}, {"D", FloatValue(1.5)}},
		tokens: []string{"t"}, pending: []string{"t"}, refs: []Reference{{Type: "Activity", Name: "n", Data: "d"}}, created: time.Unix(1, 0), modified: time.Unix(2, 0)}
	f.Add(encodeInstance(nil, in))
	f.Add(encodeEvent(nil, &event{kind: evUpdate, activity: "A", id: "1", at: time.Unix(3, 0), fields: in.fields}))
	f.Add(encodeEvent(nil, &event{kind: evEnableContinuation, activity: "A", id: "1", token: "t"}))
	f.Add(encodeCont(nil, contRec{parent: "p", ended: true}))
	f.Add(encodeCell(nil, &cell{count: 2, n: []int64{1}, sum: []float64{2.5}}))
	f.Add(encodeCatalog(nil, &catalogRec{xml: []byte("<x/>"), versions: map[string]uint32{"Activity/A": 2}, seq: 3}))
	f.Add(encodeHistory(nil, &Deployment{Op: "deploy", Text: []byte("<x/>"), Versions: map[string]uint32{"A": 1}}))
	r := &Run{ServiceInstance: "s", segs: map[string]*runSeg{"A": {ActivityID: "a", Token: "t", Started: true}}}
	rb, _ := r.MarshalBinary()
	f.Add(rb)
	f.Fuzz(func(t *testing.T, b []byte) {
		// NaN never equals itself, so compare encodings: encoding what
		// decoded is a fixed point.
		fixed := func(enc []byte, dec func([]byte) ([]byte, error)) {
			t.Helper()
			again, err := dec(enc)
			require.NoError(t, err)
			require.Equal(t, enc, again)
		}
		if in, err := decodeInstance(b); err == nil {
			fixed(encodeInstance(nil, in), func(b []byte) ([]byte, error) {
				v, err := decodeInstance(b)
				if err != nil {
					return nil, err
				}
				return encodeInstance(nil, v), nil
			})
		}
		if ev, err := decodeEvent(b); err == nil {
			fixed(encodeEvent(nil, ev), func(b []byte) ([]byte, error) {
				v, err := decodeEvent(b)
				if err != nil {
					return nil, err
				}
				return encodeEvent(nil, v), nil
			})
		}
		if c, err := decodeCont(b); err == nil {
			again, err := decodeCont(encodeCont(nil, c))
			require.NoError(t, err)
			require.Equal(t, c, again)
		}
		if c, err := decodeCell(b); err == nil {
			fixed(encodeCell(nil, c), func(b []byte) ([]byte, error) {
				v, err := decodeCell(b)
				if err != nil {
					return nil, err
				}
				return encodeCell(nil, v), nil
			})
		}
		if c, err := decodeCatalog(b); err == nil {
			again, err := decodeCatalog(encodeCatalog(nil, c))
			require.NoError(t, err)
			require.Equal(t, c, again)
		}
		if h, err := decodeHistory(1, b); err == nil {
			again, err := decodeHistory(1, encodeHistory(nil, h))
			require.NoError(t, err)
			require.Equal(t, h, again)
		}
		if r, err := UnmarshalRun(b); err == nil {
			rb, err := r.MarshalBinary()
			require.NoError(t, err)
			again, err := UnmarshalRun(rb)
			require.NoError(t, err)
			require.Equal(t, r, again)
		}
		_, _ = decodeArchive(b, "A")
	})
}

// TestParse_mutations is the fuzzers' property on a fixed, seeded set of
// mutations of the shared files (byte changes, cuts, insertions), so it
// runs in every test run: no panic, and whatever parses exports and reads
// back equal.
func TestParse_mutations(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(sharedBAM, "*.xml"))
	if len(paths) == 0 {
		t.Skip("shared BAM files absent")
	}
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		seeds = append(seeds, b)
	}
	rng := rand.New(rand.NewPCG(19, 19))
	parsed := 0
	for range 3000 {
		b := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for range 1 + rng.IntN(3) {
			p := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[p] = byte(rng.IntN(256))
			case 1:
				b = b[:p+1]
			case 2:
				b = append(b[:p], append([]byte{byte(rng.IntN(256))}, b[p:]...)...)
			}
		}
		if d, err := ParseDefinitionBytes(b); err == nil {
			parsed++
			var out bytes.Buffer
			require.NoError(t, d.Export(&out))
			again, err := ParseDefinition(&out)
			require.NoError(t, err)
			require.Equal(t, d, again)
		}
		if p, err := ParseProfileBytes(b); err == nil {
			parsed++
			var out bytes.Buffer
			require.NoError(t, p.Export(&out))
			again, err := ParseProfile(&out)
			require.NoError(t, err)
			require.Equal(t, p, again)
		}
	}
	t.Logf("%d of 3000 mutations still parsed", parsed)
}
