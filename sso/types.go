package sso

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// AppType is an affiliate application's type, with the values of
// Enterprise Single Sign-On's SSO_APP_TYPE_* constants.
type AppType uint32

const (
	// Individual maps one Windows user to one external account; each user
	// has a mapping of their own and only they can obtain it.
	Individual AppType = 0x1
	// Group maps a Windows group to one external account; every member can
	// obtain it (Windows-initiated only).
	Group AppType = 0x2
	// ConfigStore keeps configuration (property bags), not mappings.
	ConfigStore AppType = 0x4
	// HostGroup maps many external accounts to one Windows account
	// (host-initiated only).
	HostGroup AppType = 0x8
)

// String names the type as BizTalk's administration tools do.
func (t AppType) String() string {
	switch t {
	case Individual:
		return "individual"
	case Group:
		return "group"
	case ConfigStore:
		return "config store"
	case HostGroup:
		return "host group"
	}
	return fmt.Sprintf("AppType(%#x)", uint32(t))
}

func (t AppType) valid() bool {
	return t == Individual || t == Group || t == ConfigStore || t == HostGroup
}

// Flags are an affiliate application's flags, with the values of
// Enterprise Single Sign-On's SSO_FLAG_* constants. Only those below are
// kept.
type Flags uint32

const (
	// FlagAllowTickets lets the application issue and redeem tickets.
	FlagAllowTickets Flags = 0x20
	// FlagValidateTickets makes every redemption validate the sender.
	FlagValidateTickets Flags = 0x40
	// FlagUsesGroupMapping marks a group (or host group) application. Open
	// sets it from the type.
	FlagUsesGroupMapping Flags = 0x10000
	// FlagAdminAccountSame makes the application's administrators the
	// affiliate administrators. It cannot change after creation.
	FlagAdminAccountSame Flags = 0x80000
	// FlagAppConfigStore marks a config store application. Set from the
	// type.
	FlagAppConfigStore Flags = 0x100000

	knownFlags = FlagAllowTickets | FlagValidateTickets | FlagUsesGroupMapping | FlagAdminAccountSame | FlagAppConfigStore
)

// Field is one credential field of an application, such as a password.
// Masked fields are typed in hidden and never shown back by tools; every
// field's value, masked or not, is sealed in the store.
type Field struct {
	Name   string
	Masked bool
}

// Application is an affiliate application. Name, Type, Fields and
// FlagAdminAccountSame cannot change after creation.
type Application struct {
	// Name identifies the application. Required.
	Name string
	// Description and Contact are informational.
	Description string
	Contact     string
	// Type is the application's type. Required.
	Type AppType
	// Flags, see the Flag constants. FlagUsesGroupMapping and
	// FlagAppConfigStore follow the type.
	Flags Flags
	// Disabled applications refuse lookups (ErrDisabled) but keep their
	// mappings. Applications are enabled unless this is set.
	Disabled bool
	// WindowsInitiated and HostInitiated give the directions the
	// application serves. An individual application may serve both; a
	// group application only Windows-initiated; a host group application
	// only host-initiated. If neither is set, the type's default applies.
	WindowsInitiated bool
	HostInitiated    bool
	// AdminAccounts are the application administrators (users or groups).
	AdminAccounts []string
	// UserAccounts are the application users (users or groups). For a
	// group application they are also the mapped groups, tried in this
	// order: the first the caller belongs to that has a mapping wins.
	UserAccounts []string
	// Fields are the credential fields, in order. Config store
	// applications name their properties here too.
	Fields []Field
	// TicketTimeout overrides the system's ticket lifetime for this
	// application. Zero means the system's (2 minutes by default).
	TicketTimeout time.Duration
}

// normalize fills the type-derived flags and directions.
func (a *Application) normalize() {
	a.Flags &= knownFlags
	a.Flags &^= FlagUsesGroupMapping | FlagAppConfigStore
	switch a.Type {
	case Group, HostGroup:
		a.Flags |= FlagUsesGroupMapping
	case ConfigStore:
		a.Flags |= FlagAppConfigStore
	}
	if !a.WindowsInitiated && !a.HostInitiated {
		switch a.Type {
		case HostGroup:
			a.HostInitiated = true
		default:
			a.WindowsInitiated = true
		}
	}
}

func (a *Application) validate() error {
	switch {
	case strings.TrimSpace(a.Name) == "":
		return fmt.Errorf("%w: application name is empty", ErrInvalid)
	case !a.Type.valid():
		return fmt.Errorf("%w: application %q: unknown type %v", ErrInvalid, a.Name, a.Type)
	case a.Type == Group && a.HostInitiated:
		return fmt.Errorf("%w: group application %q cannot be both Windows-initiated and host-initiated", ErrInvalid, a.Name)
	case a.Type == HostGroup && a.WindowsInitiated:
		return fmt.Errorf("%w: host group application %q is host-initiated only", ErrInvalid, a.Name)
	case a.TicketTimeout < 0:
		return fmt.Errorf("%w: application %q: negative ticket timeout", ErrInvalid, a.Name)
	}
	seen := map[string]bool{}
	for _, f := range a.Fields {
		n := strings.ToLower(f.Name)
		if n == "" || seen[n] {
			return fmt.Errorf("%w: application %q: empty or repeated field name", ErrInvalid, a.Name)
		}
		seen[n] = true
	}
	return nil
}

func (a *Application) clone() *Application {
	c := *a
	c.AdminAccounts = slices.Clone(a.AdminAccounts)
	c.UserAccounts = slices.Clone(a.UserAccounts)
	c.Fields = slices.Clone(a.Fields)
	return &c
}

// Credentials are the external account a lookup returns: the external
// user, the Windows account it is mapped to and the field values in the
// application's field order. They print redacted.
type Credentials struct {
	ExternalUser   string
	WindowsAccount string
	Fields         []Secret
}

// String names the accounts and counts the fields, without their values.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{%s -> %s, %d fields %s}", c.WindowsAccount, redacted, len(c.Fields), redacted)
}

// GoString returns String.
func (c Credentials) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// ConfigInfo is a config store property bag: property name to value.
// Values are Secrets, so a bag prints redacted.
type ConfigInfo map[string]Secret

// Get returns the value of name, "" if absent.
func (c ConfigInfo) Get(name string) string { return c[name].Reveal() }

// Settings are the SSO system's settings.
type Settings struct {
	// AdminGroup is the SSO Administrators account. Defaults to
	// "SSO Administrators".
	AdminGroup string
	// AffiliateAdminGroup is the SSO Affiliate Administrators account.
	// Defaults to "SSO Affiliate Administrators".
	AffiliateAdminGroup string
	// TicketsEnabled turns tickets on for the system; each application
	// must allow them too. Off by default, as in BizTalk.
	TicketsEnabled bool
	// ValidateTickets forces validate-and-redeem on every application.
	ValidateTickets bool
	// TicketTimeout is the default ticket lifetime. Defaults to 2 minutes.
	TicketTimeout time.Duration
}

func (s *Settings) withDefaults() {
	if s.AdminGroup == "" {
		s.AdminGroup = "SSO Administrators"
	}
	if s.AffiliateAdminGroup == "" {
		s.AffiliateAdminGroup = "SSO Affiliate Administrators"
	}
	if s.TicketTimeout <= 0 {
		s.TicketTimeout = 2 * time.Minute
	}
}

// Identity is a caller: a user and the groups it belongs to. Names compare
// without regard to case, as Windows account names do.
type Identity struct {
	User   string
	Groups []string
}

// is reports whether the identity is, or is a member of, account.
func (id Identity) is(account string) bool {
	if account == "" {
		return false
	}
	if strings.EqualFold(id.User, account) {
		return true
	}
	for _, g := range id.Groups {
		if strings.EqualFold(g, account) {
			return true
		}
	}
	return false
}

func (id Identity) isAny(accounts []string) bool {
	for _, a := range accounts {
		if id.is(a) {
			return true
		}
	}
	return false
}

type identityKey struct{}

// WithIdentity returns a context that carries the caller's identity.
// Every call of a Store takes the caller from its context; a call without
// one is refused.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity ctx carries.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	if ctx == nil {
		return Identity{}, false
	}
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok && id.User != ""
}

// Role is what an identity may do in the SSO system or an application,
// from least to most.
type Role uint8

const (
	// RoleNone may do nothing.
	RoleNone Role = iota
	// RoleAppUser may look up its credentials and read config.
	RoleAppUser
	// RoleAppAdmin administers one application: its mappings, its config,
	// redeem-only tickets.
	RoleAppAdmin
	// RoleAffiliateAdmin administers every affiliate application.
	RoleAffiliateAdmin
	// RoleSSOAdmin administers the system and the master secret.
	RoleSSOAdmin
)

// String names the role.
func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleAppUser:
		return "application user"
	case RoleAppAdmin:
		return "application administrator"
	case RoleAffiliateAdmin:
		return "affiliate administrator"
	case RoleSSOAdmin:
		return "SSO administrator"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}
