package manifest

import "testing"

func TestVarOverrides(t *testing.T) {
	src := "version: 1\nvars: {brand: Acme}\njobs:\n  a: {model: m, prompt: \"${var.brand} ${var.campaign}\"}\n"
	tests := []struct {
		name string
		vars map[string]string
		err  string
	}{
		{"declared", map[string]string{"brand": "Other", "campaign": "spring"}, ""},
		{"used without a default", map[string]string{"campaign": "spring"}, ""},
		{"typo", map[string]string{"brnad": "Other", "campaign": "x"}, `m.yaml: --var brnad: the manifest neither declares nor uses this variable; did you mean "brand"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("m.yaml", []byte(src), tt.vars)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.vars["campaign"]; m.Jobs[0].Prompt[len(m.Jobs[0].Prompt)-len(want):] != want {
					t.Fatalf("prompt %q", m.Jobs[0].Prompt)
				}
				return
			}
			if err == nil || err.Error() != tt.err {
				t.Fatalf("err = %v, want %s", err, tt.err)
			}
		})
	}
}
