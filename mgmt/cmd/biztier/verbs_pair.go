package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
)

// consolePasswordEnv holds the password the pair verbs send to a running
// console, with -user, as HTTP basic authentication.
const consolePasswordEnv = "BIZTIER_CONSOLE_PASSWORD"

func init() {
	register(&verb{
		noun: "pair", name: "status", args: "-console URL",
		summary: "a running node's role, epoch, sync state and lag, read from its console",
		flags:   consoleFlag, run: pairStatus,
	})
	register(&verb{
		noun: "pair", name: "switchover", args: "-console URL",
		summary: "hand the active role to the passive, through the active node's console (basic auth: -user, $" + consolePasswordEnv + ")",
		flags:   consoleFlag, run: pairSwitchover,
	})
}

// consoleFlag declares -console. The pair verbs act on a running node, which
// holds its group open: they go through the console the application mounts
// (package mgmt/console), never through the group directory.
func consoleFlag(fs *flag.FlagSet) {
	fs.String("console", os.Getenv("BIZTIER_CONSOLE"), "the node's console URL (default $BIZTIER_CONSOLE)")
}

// pairView is the pair as the console's overview reports it.
type pairView struct {
	Node          string `json:"node"`
	Role          string `json:"role"`
	Mode          string `json:"mode"`
	Epoch         uint64 `json:"epoch"`
	Leader        string `json:"leader"`
	SyncState     string `json:"syncState"`
	Peer          string `json:"peer"`
	PeerConnected bool   `json:"peerConnected"`
	LagLSN        uint64 `json:"lagLsn"`
	LagTime       string `json:"lagTime"`
	Alarm         string `json:"alarm,omitempty"`
}

// consoleClient talks to a console's JSON API, keeping its session cookie.
type consoleClient struct {
	base *url.URL
	c    *http.Client
	user string
}

func newConsoleClient(e *env, fs *flag.FlagSet) (*consoleClient, error) {
	raw := flagString(fs, "console")
	if raw == "" {
		return nil, fmt.Errorf("%w: -console is required", errUsage)
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: -console %q is not a URL", errUsage, raw)
	}
	jar, _ := cookiejar.New(nil) // New never fails without options
	return &consoleClient{base: u, c: &http.Client{Jar: jar}, user: e.user}, nil
}

// do sends a request to path and decodes the JSON answer into v.
func (c *consoleClient) do(ctx context.Context, method, path string, body url.Values, header http.Header, v any) error {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if pw := os.Getenv(consolePasswordEnv); pw != "" && method != http.MethodGet {
		req.SetBasicAuth(c.user, pw)
	}
	res, err := c.c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("console: %s: %s", res.Status, e.Error)
		}
		return fmt.Errorf("console: %s", res.Status)
	}
	return json.Unmarshal(b, v)
}

func (c *consoleClient) pair(ctx context.Context) (*pairView, error) {
	var ov struct {
		Pair *pairView `json:"pair"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/overview", nil, nil, &ov); err != nil {
		return nil, err
	}
	if ov.Pair == nil {
		return nil, fmt.Errorf("the console at %s shows no pair (it is not over a cluster node)", c.base)
	}
	return ov.Pair, nil
}

func pairStatus(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	c, err := newConsoleClient(e, fs)
	if err != nil {
		return err
	}
	p, err := c.pair(ctx)
	if err != nil {
		return err
	}
	return e.table(p, []string{"NODE", "ROLE", "MODE", "EPOCH", "ACTIVE", "SYNC", "PEER", "LAG"},
		[][]string{{p.Node, p.Role, p.Mode, fmt.Sprint(p.Epoch), p.Leader, p.SyncState,
			fmt.Sprintf("%s (connected %v)", p.Peer, p.PeerConnected), fmt.Sprintf("%d frames, %s", p.LagLSN, p.LagTime)}})
}

func pairSwitchover(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	c, err := newConsoleClient(e, fs)
	if err != nil {
		return err
	}
	var tok struct{ Token, Header string }
	if err := c.do(ctx, http.MethodGet, "/api/csrf", nil, nil, &tok); err != nil {
		return err
	}
	var res struct{ From, Role string }
	if err := c.do(ctx, http.MethodPost, "/api/pair/switchover", url.Values{}, http.Header{tok.Header: {tok.Token}}, &res); err != nil {
		return err
	}
	return e.result(res, "switched over: %s is now %s", res.From, res.Role)
}
