package runner

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/apipod/apipod-batch/apipod"
	"github.com/apipod/apipod-batch/manifest"
)

// TestStartOrder: each model's first probeFirst tasks start first, in plan
// order, so that every model is learned early; then videos before images,
// longest first.
func TestStartOrder(t *testing.T) {
	var steps []*Step
	var want, rest []string
	add := func(model string, kind apipod.Kind, n int) {
		for i := range n {
			id := fmt.Sprintf("%s-%d", model, i)
			steps = append(steps, &Step{Job: &manifest.Job{ID: id, Model: model}, Action: Create, spec: &spec{kind: kind}})
			if i < probeFirst {
				want = append(want, id)
			} else if kind == apipod.KindVideo {
				rest = append(rest, id)
			}
		}
	}
	add("img-a", apipod.KindImage, probeFirst+3)
	add("img-b", apipod.KindImage, probeFirst+3)
	add("vid", apipod.KindVideo, probeFirst+3)
	want = append(want, rest...)
	for _, m := range []string{"img-a", "img-b"} {
		for i := probeFirst; i < probeFirst+3; i++ {
			want = append(want, fmt.Sprintf("%s-%d", m, i))
		}
	}
	s := newScheduler(steps, make([]*JobResult, len(steps)), map[apipod.Kind]int{})
	var got []string
	for n := s.next(context.Background()); n != nil; n = s.next(context.Background()) {
		got = append(got, n.st.Job.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("start order\n got %v\nwant %v", got, want)
	}
}
