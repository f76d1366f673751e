package console

import (
	"fmt"
	"html/template"
	"time"
)

// pageNames are the pages with a template of their own, templates/<name>.html,
// each rendered inside templates/layout.html.
var pageNames = []string{"overview", "hosts", "suspended", "message", "subscriptions", "flow", "bam", "rules", "sso", "audit", "error"}

var funcs = template.FuncMap{
	"list":  func(s ...string) []string { return s },
	"deref": func(b *bool) bool { return b != nil && *b },
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}

func (h *Handler) parseTemplates() error {
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}
