package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

var update = flag.Bool("update", false, "rewrite the expected output of test scripts and golden files")

// asMainEnv makes the test binary act as apipod-batch, for tests that need
// a real child process to kill.
const asMainEnv = "APIPOD_BATCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(mainExit())
	}
	testscript.Main(m, map[string]func(){
		"apipod-batch": func() { os.Exit(mainExit()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Values[fakeKey{}] = &fakeHolder{}
			// The examples, as a newcomer runs them.
			for _, name := range []string{"quickstart.yaml", "campaign.yaml"} {
				data, err := os.ReadFile(filepath.Join("examples", name))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(e.WorkDir, name), data, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fakeapi":    cmdFakeAPI,
			"fakestats":  cmdFakeStats,
			"onetaskper": cmdOneTaskPerBody,
		},
	})
}

type fakeKey struct{}

type fakeHolder struct{ srv *apipodtest.Server }

// fakeTestKey is the key the fake API accepts in scripts.
const fakeTestKey = "sk-script-51d2"

// cmdFakeAPI starts a fake APIPod API for the script and points
// APIPOD_BASE_URL and APIPOD_API_KEY at it.
//
//	fakeapi [fail-first=N] [lost=P] [fail=P] [ms=D] [broke=1]
func cmdFakeAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fakeapi")
	}
	opts := apipodtest.Options{APIKey: fakeTestKey, Seed: 1}
	dur := 20 * time.Millisecond
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		f, err := strconv.ParseFloat(v, 64)
		ts.Check(err)
		switch k {
		case "fail-first":
			opts.Faults.FailFirst = int(f)
		case "lost":
			opts.Faults.LostCreate = f
		case "fail":
			opts.Faults.FailTask = f
		case "ms":
			dur = time.Duration(f) * time.Millisecond
		case "broke":
			opts.Faults.OutOfBalance = f != 0
		default:
			ts.Fatalf("fakeapi: unknown option %q", k)
		}
	}
	opts.Duration = apipodtest.Fixed(dur)
	srv := apipodtest.NewServer(opts)
	ts.Defer(srv.Close)
	ts.Value(fakeKey{}).(*fakeHolder).srv = srv
	ts.Setenv("APIPOD_BASE_URL", srv.URL)
	ts.Setenv("APIPOD_API_KEY", fakeTestKey)
}

func fakeServer(ts *testscript.TestScript) *apipodtest.Server {
	srv := ts.Value(fakeKey{}).(*fakeHolder).srv
	if srv == nil {
		ts.Fatalf("no fake API: run fakeapi first")
	}
	return srv
}

// cmdFakeStats prints the fake API's counters, one "name=value" per line,
// for stdout assertions.
func cmdFakeStats(ts *testscript.TestScript, neg bool, args []string) {
	st := fakeServer(ts).Stats()
	lines := []string{
		fmt.Sprintf("requests=%d", st.Requests),
		fmt.Sprintf("creates=%d", st.Creates),
		fmt.Sprintf("tasks=%d", st.TasksCreated),
		fmt.Sprintf("replays=%d", st.Replays),
		fmt.Sprintf("downloads=%d", st.Downloads),
		fmt.Sprintf("auth-to-files=%d", st.FileRequestsWithAuth),
	}
	sort.Strings(lines)
	fmt.Fprintln(ts.Stdout(), strings.Join(lines, "\n"))
}

// cmdOneTaskPerBody fails unless every request body the fake saw made
// exactly one task: nothing was paid for twice.
func cmdOneTaskPerBody(ts *testscript.TestScript, neg bool, args []string) {
	for body, n := range fakeServer(ts).TasksPerBody() {
		if n != 1 && !neg {
			ts.Fatalf("%d tasks for body %s", n, body)
		}
	}
}
