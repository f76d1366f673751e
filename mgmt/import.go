package mgmt

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/biztier/biztier/internal/store"
)

// ImportOptions control Import. A nil *ImportOptions means defaults.
type ImportOptions struct {
	// Application, if set, receives every imported artifact, whatever the
	// file's ApplicationName elements say (BTSTask's -ApplicationName).
	// Defaults to the file's own names, then the file's application
	// module reference, then Options.DefaultApplication.
	Application string
	// Strict refuses a file that has elements or attributes mgmt can
	// neither interpret nor keep (a *BindingError wrapping
	// ErrUnknownElement) instead of reporting them in
	// ImportResult.Ignored. Unknown elements inside artifacts are always
	// kept and exported again.
	Strict bool
	// ApplyStates, once the configuration is in place, brings each
	// orchestration to the State the file records (Unenlisted, Enlisted
	// or Started), in the same commit and with the same rules as the
	// transitions; an unenlist it implies is not forced. By default an
	// import changes no state, as BizTalk's does.
	ApplyStates bool
	// RegisterAdapters registers the adapters the file names that the
	// group does not know yet. By default an import refuses them
	// (ErrUnknownAdapter), as BizTalk refuses a binding for an adapter that
	// is not installed; the adapters BizTalk ships (FILE, FTP, SFTP, HTTP,
	// SOAP, SMTP, POP3, MSMQ, MQSeries, the WCF family, ...) are always
	// known.
	RegisterAdapters bool
}

// ImportResult reports what Import did.
type ImportResult struct {
	// Created and Updated list the artifacts the import created and
	// replaced, in the order it applied them.
	Created []Ref
	Updated []Ref
	// Ignored lists what the file held that mgmt could neither interpret
	// nor keep, such as unknown attributes on a leaf element or unknown
	// collections at the top level.
	Ignored []Ignored
}

// Import reads a BizTalk binding file (a <BindingInfo> document) and
// creates or updates the artifacts it describes in one commit: their
// applications, hosts and adapters if missing, assemblies, send ports,
// send port groups, receive ports and locations, orchestrations and
// parties. Artifacts keep their stored state (an import starts or stops
// nothing unless ImportOptions.ApplyStates is set) and orchestrations
// their activation filter; enlisted artifacts get their subscriptions
// updated in the same commit.
//
// A file that is not well-formed or breaks a rule is refused whole: the
// error is a *BindingError (wrapping ErrMalformed) naming the element path
// and line, or the error of the rule (ErrInvalid, ErrExists, a
// *StateError), and nothing is changed.
func (s *Store) Import(ctx context.Context, r io.Reader, opts *ImportOptions) (*ImportResult, error) {
	ctx = store.Context(ctx)
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	b, err := parseBinding(r)
	if err != nil {
		return nil, err
	}
	if o.Strict && len(b.ignored) > 0 {
		ig := b.ignored[0]
		return nil, &BindingError{Path: ig.Path, Line: ig.Line, Err: ErrUnknownElement}
	}
	res := &ImportResult{Ignored: b.ignored}
	err = s.Update(ctx, func(tx *Tx) error {
		res.Created, res.Updated = nil, nil
		return tx.applyBinding(b, &o, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (tx *Tx) applyBinding(b *binding, o *ImportOptions, res *ImportResult) error {
	im := &importer{tx: tx, b: b, o: o, res: res, renamed: map[string]string{}}
	// In dependency order: what a later artifact names exists by then.
	for _, step := range []func() error{
		im.hosts, im.adapters, im.assemblies, im.sendPorts, im.groups,
		im.receivePorts, im.orchestrations, im.orchestrationStates, im.parties,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// importer puts one binding file's artifacts into a Tx, noting what it
// created and updated.
type importer struct {
	tx  *Tx
	b   *binding
	o   *ImportOptions
	res *ImportResult
	// renamed maps application pseudo references, as the file writes them,
	// to their canonical full names.
	renamed map[string]string
}

// app is the application an artifact goes to: the import's, the one the
// file writes for it, the file's, or the default.
func (im *importer) app(written string) string {
	switch {
	case im.o.Application != "":
		return im.o.Application
	case written != "":
		return written
	case im.b.app != "":
		return im.b.app
	}
	return im.tx.s.opts.DefaultApplication
}

func (im *importer) note(r Ref, existed bool) {
	if existed {
		im.res.Updated = append(im.res.Updated, r)
	} else {
		im.res.Created = append(im.res.Created, r)
	}
}

// ensureApp creates application app if it does not exist.
func (im *importer) ensureApp(app string) error {
	if _, ok := im.tx.m.apps[app]; ok {
		return nil
	}
	im.note(Ref{KindApplication, app}, false)
	return im.tx.PutApplication(&Application{Name: app})
}

// ensureRef makes application from reference to. A binding file does not
// carry application references, but binds across applications when the
// source group had them: add what the bindings need, as the references
// must have existed there.
func (im *importer) ensureRef(from, to string) error {
	a := im.tx.m.apps[from]
	if from == to || a == nil || slices.Contains(a.References, to) {
		return nil
	}
	if _, ok := im.tx.m.apps[to]; !ok {
		return nil // the Put that follows reports the missing artifact
	}
	c := a.clone()
	c.References = append(c.References, to)
	im.note(Ref{KindApplication, from}, true)
	return im.tx.PutApplication(c)
}

func (im *importer) hosts() error {
	for _, h := range im.b.hosts {
		if old, ok := im.tx.m.hosts[h.Name]; ok {
			// A file that names the host only as a handler knows less than
			// one with its <Host> element: fill in, never overwrite.
			if old.NTGroupName == "" && h.NTGroupName != "" {
				c := *old
				c.NTGroupName = h.NTGroupName
				im.note(Ref{KindHost, h.Name}, true)
				if err := im.tx.PutHost(&c); err != nil {
					return err
				}
			}
			continue
		}
		im.note(Ref{KindHost, h.Name}, false)
		if err := im.tx.PutHost(h); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) adapters() error {
	for _, a := range im.b.adapters {
		if _, ok := im.tx.m.adapters[a.Name]; ok {
			continue
		}
		if !builtinAdapters[a.Name] && !im.o.RegisterAdapters {
			return &BindingError{Path: "TransportType", Line: im.b.adapterLines[a.Name], Err: fmt.Errorf(
				"%w: %q (register it first, or import with RegisterAdapters)", ErrUnknownAdapter, a.Name)}
		}
		im.note(Ref{KindAdapter, a.Name}, false)
		if err := im.tx.PutAdapter(a); err != nil {
			return err
		}
	}
	return nil
}

// assemblies puts the assemblies. Application pseudo references are
// stored under their canonical full name; the orchestrations they hold
// follow them (renamed).
func (im *importer) assemblies() error {
	for _, a := range im.b.assemblies {
		c := *a
		if isAppModule(c.Name) {
			app := im.app(strings.TrimSuffix(strings.TrimPrefix(c.Name, appModulePrefix), "]"))
			c.Name, c.FullName, c.Application = appModuleName(app), appModuleFullName(app), app
			im.renamed[a.FullName] = c.FullName
			if err := im.ensureApp(app); err != nil {
				return err
			}
			if isEmptyAppModule(&c) {
				// Export writes it anyway; storing it would add nothing.
				continue
			}
		} else {
			c.Application = im.app(c.Application)
			if err := im.ensureApp(c.Application); err != nil {
				return err
			}
		}
		_, existed := im.tx.m.assemblies[c.FullName]
		im.note(Ref{KindAssembly, c.FullName}, existed)
		if err := im.tx.PutAssembly(&c); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) sendPorts() error {
	for _, p := range im.b.sendPorts {
		c := *p
		c.Application = im.app(im.b.sendPortApps[p.Name])
		if err := im.ensureApp(c.Application); err != nil {
			return err
		}
		_, existed := im.tx.m.sendPorts[c.Name]
		im.note(Ref{KindSendPort, c.Name}, existed)
		if err := im.tx.PutSendPort(&c); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) groups() error {
	for _, g := range im.b.groups {
		c := *g
		c.Application = im.app(im.b.groupApps[g.Name])
		if err := im.ensureApp(c.Application); err != nil {
			return err
		}
		for _, m := range c.SendPorts {
			if p, ok := im.tx.m.sendPorts[m]; ok {
				if err := im.ensureRef(c.Application, p.Application); err != nil {
					return err
				}
			}
		}
		_, existed := im.tx.m.groups[c.Name]
		im.note(Ref{KindSendPortGroup, c.Name}, existed)
		if err := im.tx.PutSendPortGroup(&c); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) receivePorts() error {
	for _, p := range im.b.receivePorts {
		c := *p
		c.Application = im.app(im.b.receivePortApps[p.Name])
		if err := im.ensureApp(c.Application); err != nil {
			return err
		}
		_, existed := im.tx.m.receivePorts[c.Name]
		im.note(Ref{KindReceivePort, c.Name}, existed)
		if err := im.tx.PutReceivePort(&c); err != nil {
			return err
		}
	}
	return nil
}

// orchestrations puts the orchestrations, referencing the applications of
// the ports they bind. An existing orchestration keeps its activation,
// which a binding file does not carry.
func (im *importer) orchestrations() error {
	for _, or := range im.b.orchestrations {
		c := *or
		c.Application = im.app(or.Application)
		if n, ok := im.renamed[c.Assembly]; ok {
			c.Assembly = n
		}
		if err := im.ensureApp(c.Application); err != nil {
			return err
		}
		for _, pb := range c.Ports {
			var to string
			if p, ok := im.tx.m.sendPorts[pb.SendPort]; ok {
				to = p.Application
			} else if g, ok := im.tx.m.groups[pb.SendPortGroup]; ok {
				to = g.Application
			} else if r, ok := im.tx.m.receivePorts[pb.ReceivePort]; ok {
				to = r.Application
			}
			if to != "" {
				if err := im.ensureRef(c.Application, to); err != nil {
					return err
				}
			}
		}
		old, existed := im.tx.m.orchs[c.Name]
		if existed {
			c.Activation = old.Activation
			c.ActivatingPorts = old.ActivatingPorts
		}
		im.note(Ref{KindOrchestration, c.Name}, existed)
		if err := im.tx.PutOrchestration(&c); err != nil {
			return err
		}
	}
	return nil
}

// orchestrationStates applies the states the file writes, when asked to.
func (im *importer) orchestrationStates() error {
	if !im.o.ApplyStates {
		return nil
	}
	for _, or := range im.b.orchestrations {
		r := Ref{KindOrchestration, or.Name}
		var err error
		switch im.b.orchStates[or.Name] {
		case "Started":
			err = im.tx.Start(r)
		case "Enlisted", "Stopped":
			if err = im.tx.Enlist(r); err == nil {
				err = im.tx.Stop(r)
			}
		case "Unenlisted", "Bound", "Unbound":
			err = im.tx.Unenlist(r, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) parties() error {
	for _, p := range im.b.parties {
		c := *p
		_, existed := im.tx.m.parties[c.Name]
		im.note(Ref{KindParty, c.Name}, existed)
		if err := im.tx.PutParty(&c); err != nil {
			return err
		}
	}
	return nil
}

func isAppModule(name string) bool {
	return strings.HasPrefix(name, appModulePrefix) && strings.HasSuffix(name, "]")
}

func appModuleName(app string) string { return appModulePrefix + app + "]" }

func appModuleFullName(app string) string {
	return appModuleName(app) + ", Version=, Culture=, PublicKeyToken="
}

// isEmptyAppModule reports whether a is an application's pseudo module
// reference with nothing in it but what Export writes by itself.
func isEmptyAppModule(a *Assembly) bool {
	if len(a.ExtraAttrs) > 0 {
		return false
	}
	for _, r := range a.Extra {
		if r.XML != "<TrackedSchemas />" {
			return false
		}
	}
	return true
}

// parseFullName splits an assembly display name, "Name, Version=1.0.0.0,
// Culture=neutral, PublicKeyToken=abc", into an Assembly.
func parseFullName(full string) *Assembly {
	a := &Assembly{FullName: full}
	parts := strings.Split(full, ",")
	a.Name = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "Version":
			a.Version = v
		case "Culture":
			a.Culture = v
		case "PublicKeyToken":
			a.PublicKeyToken = v
		}
	}
	return a
}

// builtinAdapters are the adapters a BizTalk Server installation registers
// itself: a binding file may name them in a group that has never seen
// them.
var builtinAdapters = map[string]bool{
	"FILE": true, "FTP": true, "SFTP": true, "HTTP": true, "SOAP": true, "SMTP": true, "POP3": true,
	"MSMQ": true, "MSMQT": true, "MQSeries": true, "MQSC": true, "SQL": true, "EDI": true,
	"Windows SharePoint Services": true, "SB-Messaging": true, "LogicApp": true, "Event Hubs": true,
	"Azure Blob Storage": true, "Office365 Outlook Email": true, "Office365 Outlook Calendar": true,
	"Office365 Outlook Contact": true,
	"WCF-BasicHttp":             true, "WCF-WSHttp": true, "WCF-NetTcp": true, "WCF-NetNamedPipe": true,
	"WCF-NetMsmq": true, "WCF-Custom": true, "WCF-CustomIsolated": true, "WCF-WebHttp": true,
	"WCF-BasicHttpRelay": true, "WCF-NetTcpRelay": true, "WCF-SQL": true, "WCF-OracleDB": true,
	"WCF-OracleEBS": true, "WCF-SAP": true, "WCF-Siebel": true,
}
