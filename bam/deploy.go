package bam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
)

// Deployment is versioned in the BAM database itself: the catalog of what
// is deployed (one definition document, re-validated on every change and
// on Open) with a version per artifact, and the history of every deploy,
// update and remove. BizTalk's bm.exe keeps the same in
// bam_Metadata_* tables of BAMPrimaryImport. There is no Management
// audit: no seam to the Management database exists that a database
// package may use, and the history here serves the same purpose.

func (s *Store) loadCatalog() (*catalog, error) {
	v, err := get(s.r, catalogKey)
	if errors.Is(err, errNotFound) {
		return emptyCatalog(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("bam: read catalog: %w", err)
	}
	rec, err := decodeCatalog(v)
	if err != nil {
		return nil, err
	}
	if len(rec.xml) == 0 {
		c := emptyCatalog()
		c.versions, c.seq = rec.versions, rec.seq
		return c, nil
	}
	d, err := ParseDefinitionBytes(rec.xml)
	if err != nil {
		return nil, corruptf("deployed catalog: %v", err)
	}
	return compile(d, rec.versions, rec.seq)
}

// Deploy deploys every activity, view and cube of d, as bm.exe deploy-all:
// all or none, in one commit, each at version 1. It fails with ErrExists if one is already
// deployed, with a *DefinitionError if d refers to what neither d nor the
// deployed definitions hold. by names who deploys, for the history.
func (s *Store) Deploy(ctx context.Context, d *Definition, by string) error {
	return s.changeDefinitions(ctx, "deploy", d, by)
}

// Update updates deployed activities, views and cubes from d, as bm.exe
// update-all: an activity may gain checkpoints but not lose or change one
// (ErrIncompatible); views and cubes are replaced; artifacts of d not yet
// deployed are deployed. Each updated artifact's version goes up by one.
// Instances keep their values: records are by checkpoint name.
func (s *Store) Update(ctx context.Context, d *Definition, by string) error {
	return s.changeDefinitions(ctx, "update", d, by)
}

// Remove removes the activities, views and cubes d names, as bm.exe
// remove-all, with the instances, continuations and aggregations of the
// removed activities. It fails with ErrNotDeployed for one that is not
// deployed and with ErrInUse for an activity that a remaining view or a
// bound tracking profile uses, or a view a remaining cube uses.
func (s *Store) Remove(ctx context.Context, d *Definition, by string) error {
	return s.changeDefinitions(ctx, "remove", d, by)
}

func artifactKey(kind, name string) string { return kind + "/" + name }

func (s *Store) changeDefinitions(ctx context.Context, op string, d *Definition, by string) error {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return err
	}
	if d == nil || len(d.Activities)+len(d.Views)+len(d.Cubes) == 0 {
		return fmt.Errorf("%w: an empty definition", ErrInvalid)
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	cur := s.cat.Load()
	next, touched, err := merge(cur.def, d, op, cur.versions)
	if err != nil {
		return err
	}
	if op == "remove" {
		if err := s.checkProfilesFree(d); err != nil {
			return err
		}
	}
	var text bytes.Buffer
	if err := next.Export(&text); err != nil {
		return err
	}
	// Re-read the merged catalog: every reference across old and new
	// artifacts is checked by the same code as a document's own.
	merged := &Definition{}
	if len(next.Activities) > 0 {
		if merged, err = ParseDefinitionBytes(text.Bytes()); err != nil {
			// The line is of the merged document, not of d: drop it,
			// keep the element path, which names the artifact.
			var de *DefinitionError
			if errors.As(err, &de) {
				return &DefinitionError{Element: de.Element, Err: fmt.Errorf("with the deployed definitions: %w", de.Err)}
			}
			return err
		}
	} else {
		text.Reset()
	}
	versions := maps.Clone(cur.versions)
	for k, v := range touched {
		if v == 0 {
			delete(versions, k)
		} else {
			versions[k] = v
		}
	}
	cat, err := compile(merged, versions, cur.seq+1)
	if err != nil {
		return err
	}
	var given bytes.Buffer
	if err := d.Export(&given); err != nil {
		return err
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(catalogKey, encodeCatalog(nil, &catalogRec{xml: text.Bytes(), versions: versions, seq: cat.seq}), nil); err != nil {
		return err
	}
	h := &Deployment{Op: op, At: s.now(), By: by, Text: given.Bytes(), Versions: touched}
	if err := b.Set(historyKey(cat.seq), encodeHistory(nil, h), nil); err != nil {
		return err
	}
	if op == "remove" {
		for _, a := range d.Activities {
			if err := dropActivity(b, a.Name, cur); err != nil {
				return err
			}
		}
	}
	for _, c := range d.Cubes {
		if old := cur.cubes[c.Name]; old != nil && (op == "remove" || op == "update") {
			for _, r := range old.RTAs {
				if err := dropRange(b, rtaPrefix(r.Name)); err != nil {
					return err
				}
			}
		}
	}
	if op != "remove" {
		// A new or replaced cube's aggregations are built from the
		// instances already there.
		if err := s.rebuildRTAs(b, cat, d); err != nil {
			return err
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return err
	}
	s.cat.Store(cat)
	return nil
}

func dropRange(b *pebble.Batch, prefix []byte) error {
	lo, hi := keys.PrefixBounds(prefix)
	return b.DeleteRange(lo, hi, nil)
}

func dropActivity(b *pebble.Batch, name string, cur *catalog) error {
	for _, p := range [][]byte{activePrefix(name), completedPrefix(name), byIDPrefix(name), contPrefix(name)} {
		if err := dropRange(b, p); err != nil {
			return err
		}
	}
	if a := cur.acts[name]; a != nil {
		for _, r := range a.rtas {
			if err := dropRange(b, rtaPrefix(r.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge applies op with d to cur and returns the new catalog definition
// and the versions of the artifacts it touched (0: removed).
func merge(cur, d *Definition, op string, versions map[string]uint32) (*Definition, map[string]uint32, error) {
	next := &Definition{
		Activities: slices.Clone(cur.Activities),
		Views:      slices.Clone(cur.Views),
		Cubes:      slices.Clone(cur.Cubes),
		Alerts:     cur.Alerts,
		Extensions: slices.Clone(cur.Extensions),
	}
	touched := map[string]uint32{}
	bump := func(kind, name string) { touched[artifactKey(kind, name)] = versions[artifactKey(kind, name)] + 1 }
	idxA := func(name string) int {
		return slices.IndexFunc(next.Activities, func(a Activity) bool { return a.Name == name })
	}
	idxV := func(name string) int {
		return slices.IndexFunc(next.Views, func(v View) bool { return v.Name == name })
	}
	idxC := func(name string) int {
		return slices.IndexFunc(next.Cubes, func(c Cube) bool { return c.Name == name })
	}
	notDeployed := func(kind, name string) error {
		return fmt.Errorf("%w: %s %s", ErrNotDeployed, kind, name)
	}
	switch op {
	case "deploy":
		for _, a := range d.Activities {
			if idxA(a.Name) >= 0 {
				return nil, nil, fmt.Errorf("%w: activity %s", ErrExists, a.Name)
			}
			next.Activities = append(next.Activities, a)
			bump("Activity", a.Name)
		}
		for _, v := range d.Views {
			if idxV(v.Name) >= 0 {
				return nil, nil, fmt.Errorf("%w: view %s", ErrExists, v.Name)
			}
			next.Views = append(next.Views, v)
			bump("View", v.Name)
		}
		for _, c := range d.Cubes {
			if idxC(c.Name) >= 0 {
				return nil, nil, fmt.Errorf("%w: cube %s", ErrExists, c.Name)
			}
			next.Cubes = append(next.Cubes, c)
			bump("Cube", c.Name)
		}
		next.Extensions = append(next.Extensions, d.Extensions...)
		if d.Alerts != "" {
			next.Alerts = d.Alerts
		}
	case "update":
		for _, a := range d.Activities {
			i := idxA(a.Name)
			if i < 0 {
				next.Activities = append(next.Activities, a)
				bump("Activity", a.Name)
				continue
			}
			if err := compatible(next.Activities[i], a); err != nil {
				return nil, nil, err
			}
			next.Activities[i] = a
			bump("Activity", a.Name)
		}
		for _, v := range d.Views {
			if i := idxV(v.Name); i >= 0 {
				next.Views[i] = v
			} else {
				next.Views = append(next.Views, v)
			}
			bump("View", v.Name)
		}
		for _, c := range d.Cubes {
			if i := idxC(c.Name); i >= 0 {
				next.Cubes[i] = c
			} else {
				next.Cubes = append(next.Cubes, c)
			}
			bump("Cube", c.Name)
		}
		if d.Alerts != "" {
			next.Alerts = d.Alerts
		}
	case "remove":
		for _, c := range d.Cubes {
			i := idxC(c.Name)
			if i < 0 {
				return nil, nil, notDeployed("cube", c.Name)
			}
			next.Cubes = slices.Delete(next.Cubes, i, i+1)
			touched[artifactKey("Cube", c.Name)] = 0
		}
		for _, v := range d.Views {
			i := idxV(v.Name)
			if i < 0 {
				return nil, nil, notDeployed("view", v.Name)
			}
			next.Views = slices.Delete(next.Views, i, i+1)
			touched[artifactKey("View", v.Name)] = 0
		}
		for _, a := range d.Activities {
			i := idxA(a.Name)
			if i < 0 {
				return nil, nil, notDeployed("activity", a.Name)
			}
			next.Activities = slices.Delete(next.Activities, i, i+1)
			touched[artifactKey("Activity", a.Name)] = 0
		}
		if err := checkInUse(next); err != nil {
			return nil, nil, err
		}
		if len(next.Activities) == 0 {
			next.Alerts, next.Extensions = "", nil
		}
	}
	return next, touched, nil
}

// compatible checks that an update keeps every checkpoint of the deployed
// activity, with its type, and a length no shorter.
func compatible(old, nu Activity) error {
	if old.ID != nu.ID {
		return fmt.Errorf("%w: activity %s changes ID from %s to %s", ErrIncompatible, old.Name, old.ID, nu.ID)
	}
	for _, c := range old.Checkpoints {
		i := slices.IndexFunc(nu.Checkpoints, func(n Checkpoint) bool { return n.Name == c.Name })
		if i < 0 {
			return fmt.Errorf("%w: activity %s loses checkpoint %s", ErrIncompatible, old.Name, c.Name)
		}
		n := nu.Checkpoints[i]
		if n.Type != c.Type || n.Length < c.Length {
			return fmt.Errorf("%w: activity %s changes checkpoint %s from %s(%d) to %s(%d)", ErrIncompatible, old.Name, c.Name, c.Type, c.Length, n.Type, n.Length)
		}
	}
	return nil
}

// checkInUse refuses a catalog in which a view names a removed activity or
// a cube a removed activity view.
func checkInUse(d *Definition) error {
	acts := map[string]bool{}
	for _, a := range d.Activities {
		acts[a.ID] = true
	}
	avs := map[string]bool{}
	for _, v := range d.Views {
		for _, av := range v.ActivityViews {
			if !acts[av.ActivityRef] {
				return fmt.Errorf("%w: view %s uses activity %s", ErrInUse, v.Name, av.ActivityRef)
			}
			avs[av.ID] = true
		}
	}
	for _, c := range d.Cubes {
		if !avs[c.ActivityViewRef] {
			return fmt.Errorf("%w: cube %s uses activity view %s", ErrInUse, c.Name, c.ActivityViewRef)
		}
	}
	return nil
}

// Definition returns the deployed definitions as one document (activities,
// views and cubes in force). The result is the caller's.
func (s *Store) Definition() *Definition {
	d := s.cat.Load().def
	var b bytes.Buffer
	if len(d.Activities) == 0 {
		return &Definition{}
	}
	if err := d.Export(&b); err != nil {
		panic(err) // exporting to a buffer cannot fail
	}
	out, err := ParseDefinitionBytes(b.Bytes())
	if err != nil {
		panic(fmt.Sprintf("bam: deployed catalog does not re-read: %v", err))
	}
	return out
}

// Version returns the deployed version of an activity, view or cube
// (kind "Activity", "View" or "Cube"); 0 when it is not deployed.
func (s *Store) Version(kind, name string) uint32 {
	c := s.cat.Load()
	switch kind {
	case "Activity":
		if c.acts[name] == nil {
			return 0
		}
	case "Cube":
		if c.cubes[name] == nil {
			return 0
		}
	case "View":
		if !slices.ContainsFunc(c.def.Views, func(v View) bool { return v.Name == name }) {
			return 0
		}
	default:
		return 0
	}
	return c.versions[artifactKey(kind, name)]
}

// Deployments returns the deployment history, oldest first.
func (s *Store) Deployments(ctx context.Context) ([]*Deployment, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []*Deployment
	lo, hi := keys.PrefixBounds(keys.AppendTable(nil, keys.TableBAMDeployments))
	err := scan(s.r, lo, hi, func(k, v []byte) error {
		seq, _, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return corruptf("deployment key: %v", err)
		}
		h, err := decodeHistory(seq, v)
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}
