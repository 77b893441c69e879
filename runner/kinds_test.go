package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// TestParallelismPerKind runs images and videos under separate limits: at
// no instant do more tasks of a kind run than its limit, and both kinds
// run at once.
func TestParallelismPerKind(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nsettings:\n  parallelism: {image: 2, video: 1}\n  poll: {initial: 5ms, max: 10ms}\njobs:\n")
	for i := range 6 {
		fmt.Fprintf(&b, "  img-%d: {model: nano-banana-2, prompt: \"image %d\"}\n", i, i)
	}
	for i := range 3 {
		fmt.Fprintf(&b, "  vid-%d: {model: veo3-1-fast, prompt: \"video %d\"}\n", i, i)
	}
	e := newEnv(t, b.String(), apipodtest.Options{Duration: apipodtest.Fixed(60 * time.Millisecond)})
	if _, _, err := e.apply(context.Background(), testKey, nil); err != nil {
		t.Fatal(err)
	}
	peak := map[apipod.Kind]int{}
	both := false
	ts := e.srv.Timings()
	for _, a := range ts {
		running := map[apipod.Kind]int{}
		for _, o := range ts {
			// Tasks running at the instant a starts.
			if !o.Created.After(a.Created) && o.Ended.After(a.Created) {
				running[o.Kind]++
			}
		}
		for k, n := range running {
			peak[k] = max(peak[k], n)
		}
		both = both || (running[apipod.KindImage] > 0 && running[apipod.KindVideo] > 0)
	}
	if peak[apipod.KindImage] > 2 || peak[apipod.KindVideo] > 1 {
		t.Fatalf("peak in flight %v, limits image 2, video 1", peak)
	}
	if !both {
		t.Fatal("images and videos never ran at once")
	}
	e.checkOutputs(9)
}
