package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
)

// profiled reports whether Config.ProfileDir profiles the rounds of the
// system called name: the biztier rows, whose hot paths are ours to
// improve.
func profiled(name string) bool { return strings.HasPrefix(name, "biztier") }

// roundProfile is one round's profiling of a biztier row: a CPU profile
// running to a file of its own, and the allocation profile taken when the
// round began. A nil *roundProfile profiles nothing.
type roundProfile struct {
	in      *instance
	base    string // path prefix: DIR/<scenario>-<system>
	cpuFile *os.File
	before  map[string][]int64
}

// startProfile starts profiling a round of in when c.ProfileDir is set and
// in is a biztier row. The caller has just run a GC, so the allocation
// profile it takes is current.
func startProfile(c *Config, sc *scenario, in *instance, round int) (*roundProfile, error) {
	if c.ProfileDir == "" || !profiled(in.name) {
		return nil, nil
	}
	p := &roundProfile{in: in, base: filepath.Join(c.ProfileDir, sc.name+"-"+in.name)}
	var err error
	if p.before, _, err = allocsNow(); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("%s.r%d.cpu.pprof", p.base, round+1)
	if p.cpuFile, err = os.Create(path); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(p.cpuFile); err != nil {
		// Only one CPU profile runs at a time: a whole-run one
		// (-cpuprofile) is already running.
		return nil, errors.Join(fmt.Errorf("profile: %s: %w", path, err), p.cpuFile.Close())
	}
	return p, nil
}

// stop ends the round's CPU profile, adds the allocations made since
// startProfile to the system's and rewrites its allocation profile,
// DIR/<scenario>-<system>.allocs.pprof, so that it covers every round so
// far.
func (p *roundProfile) stop() error {
	if p == nil {
		return nil
	}
	pprof.StopCPUProfile()
	if err := p.cpuFile.Close(); err != nil {
		return fmt.Errorf("profile: %s: %w", p.cpuFile.Name(), err)
	}
	// The allocation profile is published by a GC: without one, the
	// round's last allocations would fall between this round and the next.
	runtime.GC()
	after, raw, err := allocsNow()
	if err != nil {
		return err
	}
	if p.in.allocs == nil {
		p.in.allocs = map[string][]int64{}
	}
	for k, v := range after {
		acc := p.in.allocs[k]
		if acc == nil {
			acc = make([]int64, len(v))
			p.in.allocs[k] = acc
		}
		for i := range min(len(v), len(acc)) {
			var b int64
			if i < len(p.before[k]) {
				b = p.before[k][i]
			}
			acc[i] += v[i] - b
		}
	}
	// The newest profile holds every stack ever sampled (the runtime
	// never forgets one), so it can carry the sums of all rounds.
	out, err := rewriteSamples(raw, p.in.allocs)
	if err != nil {
		return err
	}
	path := p.base + ".allocs.pprof"
	if err := writeGzip(path, out); err != nil {
		return fmt.Errorf("profile: %s: %w", path, err)
	}
	return nil
}

// allocsNow returns the process's allocation profile: its samples' values
// summed by stack, and the profile's protocol buffer, uncompressed.
func allocsNow() (map[string][]int64, []byte, error) {
	var buf bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&buf, 0); err != nil {
		return nil, nil, fmt.Errorf("profile: allocs: %w", err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		return nil, nil, fmt.Errorf("profile: allocs: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, nil, fmt.Errorf("profile: allocs: %w", err)
	}
	sums := map[string][]int64{}
	err = eachSample(raw, func(key string, _ []uint64, values []int64, _ [][]byte) {
		acc := sums[key]
		if acc == nil {
			acc = make([]int64, len(values))
			sums[key] = acc
		}
		for i := range min(len(values), len(acc)) {
			acc[i] += values[i]
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return sums, raw, nil
}

func writeGzip(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	_, err = zw.Write(data)
	return errors.Join(err, zw.Close(), f.Close())
}

// The fields of pprof's profile.proto that the delta reads and writes.
const (
	pbProfileSample   = 2
	pbProfileLocation = 4
	pbSampleLocation  = 1
	pbSampleValue     = 2
	pbSampleLabel     = 3
	pbLocationID      = 1
	pbLocationAddress = 3
)

// pbField is one field of a protocol buffer message: its number, wire
// type, value (varint) or payload (length-delimited), and its bytes as
// encoded, tag included.
type pbField struct {
	num     int
	wire    int
	varint  uint64
	payload []byte
	raw     []byte
}

var errProfileFormat = errors.New("bench: profile: malformed profile.proto")

// pbFields splits a message into its fields.
func pbFields(b []byte) ([]pbField, error) {
	var out []pbField
	for len(b) > 0 {
		start := b
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errProfileFormat
		}
		b = b[n:]
		f := pbField{num: int(tag >> 3), wire: int(tag & 7)}
		switch f.wire {
		case 0:
			if f.varint, n = binary.Uvarint(b); n <= 0 {
				return nil, errProfileFormat
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errProfileFormat
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errProfileFormat
			}
			f.payload, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, errProfileFormat
			}
			b = b[4:]
		default:
			return nil, errProfileFormat
		}
		f.raw = start[:len(start)-len(b)]
		out = append(out, f)
	}
	return out, nil
}

// pbUints returns a repeated integer field's values, packed or not.
func pbUints(f pbField, dst []uint64) ([]uint64, error) {
	if f.wire == 0 {
		return append(dst, f.varint), nil
	}
	if f.wire != 2 {
		return nil, errProfileFormat
	}
	for b := f.payload; len(b) > 0; {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errProfileFormat
		}
		dst, b = append(dst, v), b[n:]
	}
	return dst, nil
}

// eachSample calls fn with each sample of a profile: its key (the
// addresses of its stack, which are the same in every profile the process
// writes, unlike location IDs), location IDs, values and encoded labels.
func eachSample(profile []byte, fn func(key string, locs []uint64, values []int64, labels [][]byte)) error {
	top, err := pbFields(profile)
	if err != nil {
		return err
	}
	addr := map[uint64]uint64{}
	for _, f := range top {
		if f.num != pbProfileLocation {
			continue
		}
		fs, err := pbFields(f.payload)
		if err != nil {
			return err
		}
		var id, a uint64
		for _, lf := range fs {
			switch lf.num {
			case pbLocationID:
				id = lf.varint
			case pbLocationAddress:
				a = lf.varint
			}
		}
		addr[id] = a
	}
	for _, f := range top {
		if f.num != pbProfileSample {
			continue
		}
		fs, err := pbFields(f.payload)
		if err != nil {
			return err
		}
		var locs, vals []uint64
		var labels [][]byte
		for _, sf := range fs {
			switch sf.num {
			case pbSampleLocation:
				locs, err = pbUints(sf, locs)
			case pbSampleValue:
				vals, err = pbUints(sf, vals)
			case pbSampleLabel:
				labels = append(labels, sf.raw)
			}
			if err != nil {
				return err
			}
		}
		key := make([]byte, 0, 8*len(locs))
		for _, l := range locs {
			key = binary.BigEndian.AppendUint64(key, addr[l])
		}
		values := make([]int64, len(vals))
		for i, v := range vals {
			values[i] = int64(v)
		}
		fn(string(key), locs, values, labels)
	}
	return nil
}

// rewriteSamples returns profile with each sample's values replaced by
// values[its key]: samples with no entry or only zeros are dropped, and a
// key's values go to its first sample only. Every other field is copied
// as it is.
func rewriteSamples(profile []byte, values map[string][]int64) ([]byte, error) {
	top, err := pbFields(profile)
	if err != nil {
		return nil, err
	}
	var samples [][]byte
	done := map[string]bool{}
	err = eachSample(profile, func(key string, locs []uint64, _ []int64, labels [][]byte) {
		v := values[key]
		if done[key] || allZero(v) {
			return
		}
		done[key] = true
		var msg []byte
		msg = appendPacked(msg, pbSampleLocation, locs)
		vs := make([]uint64, len(v))
		for i, x := range v {
			vs[i] = uint64(x)
		}
		msg = appendPacked(msg, pbSampleValue, vs)
		for _, l := range labels {
			msg = append(msg, l...)
		}
		samples = append(samples, msg)
	})
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range top {
		if f.num != pbProfileSample {
			out = append(out, f.raw...)
		}
	}
	for _, s := range samples {
		out = binary.AppendUvarint(out, pbProfileSample<<3|2)
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return out, nil
}

func appendPacked(b []byte, num int, vs []uint64) []byte {
	var payload []byte
	for _, v := range vs {
		payload = binary.AppendUvarint(payload, v)
	}
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func allZero(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
