package manifest

import "testing"

func TestParallelismAndRateLimit(t *testing.T) {
	tests := []struct {
		name                string
		settings            string
		total, image, video int
		rate                float64
		err                 string
	}{
		{"number", "parallelism: 6", 6, 0, 0, 0, ""},
		{"per kind", "parallelism: {image: 8, video: 2}", 10, 8, 2, 0, ""},
		{"one kind", "parallelism: {video: 1}", 5, 4, 1, 0, ""},
		{"rate", "rate_limit: 2.5", 4, 0, 0, 2.5, ""},
		{"zero kind", "parallelism: {image: 0}", 0, 0, 0, 0, "m.yaml:3:24: settings.parallelism.image: must be at least 1, got 0"},
		{"typo kind", "parallelism: {imag: 2}", 0, 0, 0, 0, `m.yaml:3:17: unknown key "imag" in settings.parallelism; did you mean "image"?`},
		{"bad rate", "rate_limit: 0", 0, 0, 0, 0, "m.yaml:3:15: settings.rate_limit: must be more than 0 requests per second, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "version: 1\nsettings:\n  " + tt.settings + "\njobs:\n  a: {model: m, prompt: p}\n"
			m, err := Parse("m.yaml", []byte(src), nil)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := m.Settings
			if s.Parallelism != tt.total || s.ImageParallelism != tt.image || s.VideoParallelism != tt.video || s.RateLimit != tt.rate {
				t.Fatalf("settings %+v", s)
			}
		})
	}
}
