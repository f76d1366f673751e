package mgmt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProtectTransportData(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		values         map[string]string
	}{
		{"password", `<CustomProps><Username vt="8">u</Username><Password vt="8">p&amp;w</Password></CustomProps>`,
			`<CustomProps><Username vt="8">u</Username><Password vt="1" /></CustomProps>`, map[string]string{"Password": "p&w"}},
		{"proxy password too", `<CustomProps><ProxyPassword vt="8">x</ProxyPassword><Password vt="8">y</Password></CustomProps>`,
			`<CustomProps><ProxyPassword vt="1" /><Password vt="1" /></CustomProps>`, map[string]string{"ProxyPassword": "x", "Password": "y"}},
		{"already masked", `<CustomProps><Password vt="1" /></CustomProps>`, `<CustomProps><Password vt="1" /></CustomProps>`, nil},
		{"empty", `<CustomProps><Password vt="8"></Password></CustomProps>`, `<CustomProps><Password vt="8"></Password></CustomProps>`, nil},
		{"not a string", `<CustomProps><PasswordAge vt="3">7</PasswordAge></CustomProps>`, `<CustomProps><PasswordAge vt="3">7</PasswordAge></CustomProps>`, nil},
		{"no password", `<CustomProps><FileName vt="8">%MessageID%.xml</FileName></CustomProps>`, `<CustomProps><FileName vt="8">%MessageID%.xml</FileName></CustomProps>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, values := protectTransportData(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.values, values)
		})
	}
}
