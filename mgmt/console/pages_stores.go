package console

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/mgmt/audit"
	"github.com/biztier/biztier/sso"
)

// bamView is BAM's activities, their newest instances and the real-time
// aggregations.
type bamView struct {
	Activities   []bamActivity      `json:"activities"`
	Aggregations []*bam.Aggregation `json:"aggregations"`
}

type bamActivity struct {
	Name        string        `json:"name"`
	Checkpoints []string      `json:"checkpoints"`
	Instances   []bamInstance `json:"instances"`
}

type bamInstance struct {
	ID       string            `json:"id"`
	State    string            `json:"state"`
	Values   map[string]string `json:"values"`
	Modified time.Time         `json:"modified"`
}

func (h *Handler) bam(r *http.Request) (any, error) {
	b := h.opts.BAM
	if b == nil {
		return nil, fmt.Errorf("%w: BAM (Options.BAM)", ErrNotConfigured)
	}
	ctx := r.Context()
	v := bamView{Activities: []bamActivity{}, Aggregations: []*bam.Aggregation{}}
	def := b.Definition()
	if def == nil {
		return v, nil
	}
	for _, a := range def.Activities {
		av := bamActivity{Name: a.Name, Instances: []bamInstance{}}
		for _, c := range a.Checkpoints {
			av.Checkpoints = append(av.Checkpoints, c.Name)
		}
		ins, err := b.Instances(ctx, a.Name, bam.Query{States: bam.Active | bam.Completed, Limit: h.opts.PageSize})
		if err != nil {
			return nil, fmt.Errorf("activity %s: %w", a.Name, err)
		}
		for _, in := range ins {
			iv := bamInstance{ID: in.ID, State: in.State.String(), Values: map[string]string{}, Modified: in.Modified}
			for k, val := range in.Values {
				iv.Values[k] = val.String()
			}
			av.Instances = append(av.Instances, iv)
		}
		v.Activities = append(v.Activities, av)
	}
	for _, c := range def.Cubes {
		for _, rta := range c.RTAs {
			agg, err := b.Aggregation(ctx, rta.Name)
			if err != nil {
				return nil, fmt.Errorf("aggregation %s: %w", rta.Name, err)
			}
			v.Aggregations = append(v.Aggregations, agg)
		}
	}
	return v, nil
}

// rulesView lists the rule store's policies and vocabularies, every version.
type rulesView struct {
	Policies     []ruleVersion `json:"policies"`
	Vocabularies []ruleVersion `json:"vocabularies"`
}

type ruleVersion struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	State     string    `json:"state"`
	Saved     time.Time `json:"saved"`
	Published time.Time `json:"published,omitzero"`
	Deployed  time.Time `json:"deployed,omitzero"`
}

func (h *Handler) rules(r *http.Request) (any, error) {
	rs, err := h.group().Rules(nil)
	if err != nil {
		return nil, err
	}
	v := rulesView{Policies: []ruleVersion{}, Vocabularies: []ruleVersion{}}
	ps, err := rs.Policies()
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		v.Policies = append(v.Policies, ruleVersion{Name: p.Name, Version: p.Version.String(), State: p.State.String(), Saved: p.Saved, Published: p.Published, Deployed: p.Deployed})
	}
	vs, err := rs.Vocabularies()
	if err != nil {
		return nil, err
	}
	for _, voc := range vs {
		v.Vocabularies = append(v.Vocabularies, ruleVersion{Name: voc.Name, Version: voc.Version.String(), State: voc.State.String(), Saved: voc.Saved, Published: voc.Published})
	}
	return v, nil
}

// ssoApp is an affiliate application as the console shows it: its
// definition, never a credential or a config value.
type ssoApp struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Type        string   `json:"type"`
	Disabled    bool     `json:"disabled"`
	Admins      []string `json:"admins"`
	Users       []string `json:"users"`
	Fields      []string `json:"fields"`
}

func (h *Handler) ssoApps(r *http.Request) (any, error) {
	s := h.opts.SSO
	if s == nil {
		return nil, fmt.Errorf("%w: SSO (Options.SSO)", ErrNotConfigured)
	}
	apps, err := s.Applications(sso.WithIdentity(r.Context(), h.opts.SSOIdentity))
	if err != nil {
		return nil, err
	}
	out := []ssoApp{}
	for _, a := range apps {
		sa := ssoApp{Name: a.Name, Description: a.Description, Type: fmt.Sprint(a.Type), Disabled: a.Disabled, Admins: a.AdminAccounts, Users: a.UserAccounts}
		for _, f := range a.Fields {
			sa.Fields = append(sa.Fields, f.Name)
		}
		out = append(out, sa)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (h *Handler) auditTrail(r *http.Request) (any, error) {
	rs, err := h.trail().List(r.Context(), h.opts.PageSize)
	if err != nil {
		return nil, err
	}
	if rs == nil {
		rs = []audit.Record{}
	}
	return rs, nil
}
