package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	parallelismKeys = []string{"image", "video"}
	settingsKeys    = []string{"parallelism", "output_dir", "timeout", "retries", "poll", "allow_unknown_models", "rate_limit", "max_download"}
	pollKeys        = []string{"initial", "max"}
)

func defaultSettings() Settings {
	return Settings{
		Parallelism: 4,
		OutputDir:   "out",
		Retries:     2,
		Poll:        Poll{Initial: 2 * time.Second, Max: 30 * time.Second},
	}
}

// settings reads the settings mapping; output_dir may use ${var.NAME}.
func (p *parser) settings(n *yaml.Node, vars map[string]string) Settings {
	s := defaultSettings()
	if isNull(n) || !p.isMapping(n, "settings", "") {
		return s
	}
	for _, e := range p.entries(n, "settings", "") {
		field := "settings." + e.name
		switch e.name {
		case "parallelism":
			p.parallelism(e.val, &s)
		case "rate_limit":
			if v, ok := p.float(e.val, field, ""); ok && v <= 0 {
				p.add(p.pos(e.val), "", "%s: must be more than 0 requests per second, got %g", field, v)
			} else if ok {
				s.RateLimit = v
			}
		case "retries":
			if v, ok := p.integer(e.val, field, ""); ok && v < 0 {
				p.add(p.pos(e.val), "", "%s: must be 0 or more, got %d", field, v)
			} else if ok {
				s.Retries = v
			}
		case "output_dir":
			if v, ok := p.str(e.val, field, ""); ok {
				s.OutputDir = p.outputDir(e.val, v, vars)
			}
		case "timeout":
			if d, ok := p.duration(e.val, field, ""); ok {
				s.Timeout = d
			}
		case "poll":
			s.Poll = p.poll(e.val, s.Poll)
		case "max_download":
			if v, ok := p.str(e.val, field, ""); ok {
				if n, err := ParseSize(v); err != nil {
					p.add(p.pos(e.val), "", "%s: %v", field, err)
				} else {
					s.MaxDownload = n
				}
			}
		case "allow_unknown_models":
			if b, ok := p.boolean(e.val, field, ""); ok {
				s.AllowUnknownModels = b
			}
		default:
			p.unknownKey(e.key, "settings", "", settingsKeys)
		}
	}
	return s
}

// parallelism reads settings.parallelism: a number of tasks in flight, or
// {image: N, video: M} to limit the two kinds apart (a kind left out gets the
// default).
func (p *parser) parallelism(n *yaml.Node, s *Settings) {
	atLeastOne := func(n *yaml.Node, field string) (int, bool) {
		v, ok := p.integer(n, field, "")
		if ok && v < 1 {
			p.add(p.pos(n), "", "%s: must be at least 1, got %d", field, v)
			return 0, false
		}
		return v, ok
	}
	if n.Kind != yaml.MappingNode {
		if v, ok := atLeastOne(n, "settings.parallelism"); ok {
			s.Parallelism = v
		}
		return
	}
	image, video := defaultSettings().Parallelism, defaultSettings().Parallelism
	for _, e := range p.entries(n, "settings.parallelism", "") {
		field := "settings.parallelism." + e.name
		switch e.name {
		case "image":
			if v, ok := atLeastOne(e.val, field); ok {
				image = v
			}
		case "video":
			if v, ok := atLeastOne(e.val, field); ok {
				video = v
			}
		default:
			p.unknownKey(e.key, "settings.parallelism", "", parallelismKeys)
		}
	}
	s.ImageParallelism, s.VideoParallelism = image, video
	s.Parallelism = image + video
}

// outputDir interpolates the output_dir setting and checks it is not empty.
func (p *parser) outputDir(n *yaml.Node, v string, vars map[string]string) string {
	in := interp{vars: vars}
	out, _, problems := in.expand(v, p.pos(n), noRefs)
	for _, msg := range problems {
		p.add(p.pos(n), "", "settings.output_dir: %s", msg)
	}
	if out == "" {
		p.add(p.pos(n), "", "settings.output_dir: must not be empty (use . for the manifest's folder)")
		return defaultSettings().OutputDir
	}
	return out
}

// poll reads settings.poll over the defaults in def.
func (p *parser) poll(n *yaml.Node, def Poll) Poll {
	if !p.isMapping(n, "settings.poll", "") {
		return def
	}
	out := def
	for _, e := range p.entries(n, "settings.poll", "") {
		field := "settings.poll." + e.name
		switch e.name {
		case "initial":
			if d, ok := p.duration(e.val, field, ""); ok {
				out.Initial = d
			}
		case "max":
			if d, ok := p.duration(e.val, field, ""); ok {
				out.Max = d
			}
		default:
			p.unknownKey(e.key, "settings.poll", "", pollKeys)
		}
	}
	if out.Initial > out.Max {
		p.add(p.pos(n), "", "settings.poll: initial (%s) is longer than max (%s)", out.Initial, out.Max)
		return def
	}
	return out
}

// sizeUnits are the units ParseSize knows, longest suffix first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize reads a size such as "500MB", "2GiB", "1.5 GB" or "1048576"
// (bytes). KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB and TiB
// powers of 1024. The size must be at least one byte.
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.bytes
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a size; write it like 500MB or 2GiB", s)
	}
	bytes := f * float64(mult)
	if bytes < 1 || bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is out of range; write a size from 1B up, like 500MB or 2GiB", s)
	}
	return int64(bytes), nil
}
