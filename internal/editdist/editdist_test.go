package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"parms", "params", 1}, {"brnad", "brand", 1}, {"ab", "ba", 1}, {"ca", "abc", 3}, {"promt", "prompt", 1}, {"kitten", "sitting", 3}, {"", "abc", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
