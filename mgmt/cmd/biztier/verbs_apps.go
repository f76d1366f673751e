package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/biztier/biztier/mgmt"
)

func init() {
	register(&verb{noun: "apps", name: "list", summary: "list applications and what they hold", run: appsList})
	register(&verb{noun: "apps", name: "start", args: "NAME", summary: "start an application (enlist and start its ports and orchestrations, enable its locations)", run: appsStart})
	register(&verb{
		noun: "apps", name: "stop", args: "[-mode receiving|suspend|full] NAME", summary: "stop an application",
		flags: func(fs *flag.FlagSet) {
			fs.String("mode", "suspend", "receiving: disable receive locations only; suspend: also stop ports and orchestrations; full: also unenlist")
		},
		run: appsStop,
	})
	register(&verb{
		noun: "ports", name: "list", args: "[-app NAME]", summary: "list send ports and receive locations with their states",
		flags: func(fs *flag.FlagSet) { fs.String("app", "", "only this application's ports") },
		run:   portsList,
	})
	for _, v := range []struct{ name, summary string }{
		{"start", "start a send port or group, or enable a receive location"},
		{"stop", "stop a send port or group, or disable a receive location"},
	} {
		register(&verb{
			noun: "ports", name: v.name, args: "[-kind send|group|location] NAME", summary: v.summary,
			flags: func(fs *flag.FlagSet) {
				fs.String("kind", "send", "send (port), group (send port group) or location (receive location)")
			},
			run: portsStartStop(v.name == "start"),
		})
	}
}

type appView struct {
	Name           string `json:"name"`
	SendPorts      int    `json:"sendPorts"`
	ReceivePorts   int    `json:"receivePorts"`
	Orchestrations int    `json:"orchestrations"`
	Description    string `json:"description,omitempty"`
}

func appsList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	mg, err := e.management()
	if err != nil {
		return err
	}
	out := []appView{}
	var rows [][]string
	for _, a := range mg.Applications() {
		v := appView{Name: a.Name, SendPorts: len(mg.SendPorts(a.Name)), ReceivePorts: len(mg.ReceivePorts(a.Name)),
			Orchestrations: len(mg.Orchestrations(a.Name)), Description: a.Description}
		out = append(out, v)
		rows = append(rows, []string{v.Name, fmt.Sprint(v.SendPorts), fmt.Sprint(v.ReceivePorts), fmt.Sprint(v.Orchestrations)})
	}
	return e.table(out, []string{"APPLICATION", "SEND PORTS", "RECEIVE PORTS", "ORCHESTRATIONS"}, rows)
}

func appsStart(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "an application name"); err != nil {
		return err
	}
	mg, err := e.management()
	if err != nil {
		return err
	}
	if err := e.audited(ctx, "apps start", args[0], func() (int, error) { return 1, mg.StartApplication(ctx, args[0]) }); err != nil {
		return err
	}
	return e.result(map[string]string{"application": args[0], "state": "started"}, "started %s", args[0])
}

var stopModes = map[string]mgmt.StopMode{"receiving": mgmt.StopReceiving, "suspend": mgmt.StopSuspend, "full": mgmt.StopFull}

func appsStop(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "an application name"); err != nil {
		return err
	}
	mode, ok := stopModes[flagString(fs, "mode")]
	if !ok {
		return fmt.Errorf("%w: -mode %q", errUsage, flagString(fs, "mode"))
	}
	mg, err := e.management()
	if err != nil {
		return err
	}
	if err := e.audited(ctx, "apps stop", args[0]+" mode="+flagString(fs, "mode"), func() (int, error) {
		return 1, mg.StopApplication(ctx, args[0], mode)
	}); err != nil {
		return err
	}
	return e.result(map[string]string{"application": args[0], "state": "stopped", "mode": flagString(fs, "mode")}, "stopped %s (%s)", args[0], flagString(fs, "mode"))
}

type portView struct {
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Application string `json:"application"`
	State       string `json:"state"`
	Address     string `json:"address,omitempty"`
}

func portsList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	mg, err := e.management()
	if err != nil {
		return err
	}
	app := flagString(fs, "app")
	out := []portView{}
	for _, p := range mg.SendPorts(app) {
		v := portView{Kind: "send", Name: p.Name, Application: p.Application, State: p.State.String()}
		if p.Primary != nil {
			v.Address = p.Primary.Address
		}
		out = append(out, v)
	}
	for _, p := range mg.SendPortGroups(app) {
		out = append(out, portView{Kind: "group", Name: p.Name, Application: p.Application, State: p.State.String()})
	}
	for _, p := range mg.ReceivePorts(app) {
		for _, l := range p.Locations {
			state := "disabled"
			if l.Enabled {
				state = "enabled"
			}
			out = append(out, portView{Kind: "location", Name: l.Name, Application: p.Application, State: state, Address: l.Address})
		}
	}
	var rows [][]string
	for _, v := range out {
		rows = append(rows, []string{v.Kind, v.Name, v.Application, v.State, v.Address})
	}
	return e.table(out, []string{"KIND", "NAME", "APPLICATION", "STATE", "ADDRESS"}, rows)
}

var portKinds = map[string]mgmt.Kind{"send": mgmt.KindSendPort, "group": mgmt.KindSendPortGroup, "location": mgmt.KindReceiveLocation}

func portsStartStop(start bool) func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	return func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		if err := needArgs(args, 1, "a port name"); err != nil {
			return err
		}
		kind, ok := portKinds[flagString(fs, "kind")]
		if !ok {
			return fmt.Errorf("%w: -kind %q", errUsage, flagString(fs, "kind"))
		}
		mg, err := e.management()
		if err != nil {
			return err
		}
		ref := mgmt.Ref{Kind: kind, Name: args[0]}
		action, state := "ports stop", "stopped"
		if start {
			action, state = "ports start", "started"
		}
		if err := e.audited(ctx, action, ref.String(), func() (int, error) {
			if start {
				return 1, mg.Start(ctx, ref)
			}
			return 1, mg.Stop(ctx, ref)
		}); err != nil {
			return err
		}
		return e.result(map[string]string{"port": ref.String(), "state": state}, "%s %s", state, ref)
	}
}
