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
	yaml := imagesAndVideos("  parallelism: {image: 2, video: 1}\n  poll: {initial: 5ms, max: 10ms}\n", 6, 3)
	e := newEnv(t, yaml, apipodtest.Options{Duration: apipodtest.Fixed(60 * time.Millisecond)})
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

// imagesAndVideos is a manifest with the given settings lines and jobs
// img-0… of nano-banana-2 and vid-0… of veo3-1-fast.
func imagesAndVideos(settings string, images, videos int) string {
	var b strings.Builder
	b.WriteString("version: 1\nsettings:\n" + settings + "jobs:\n")
	for i := range images {
		fmt.Fprintf(&b, "  img-%d: {model: nano-banana-2, prompt: \"image %d\"}\n", i, i)
	}
	for i := range videos {
		fmt.Fprintf(&b, "  vid-%d: {model: veo3-1-fast, prompt: \"video %d\"}\n", i, i)
	}
	return b.String()
}
