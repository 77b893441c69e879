package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

// sandboxOptions are the inputs of `sandbox`.
type sandboxCmdOptions struct {
	addr    string
	streams *streams
}

func newSandboxCmd(s *streams) *cobra.Command {
	opts := &sandboxCmdOptions{streams: s}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve the built-in APIPod simulator over HTTP",
		Long: "sandbox serves a simulator of the APIPod API (create, status, result files) on --addr,\n" +
			"so that apply, scripts and other tools can be tried without a key or cost.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSandbox(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.addr, "addr", "127.0.0.1:8080", "address to listen on")
	return cmd
}

func runSandbox(ctx context.Context, opts *sandboxCmdOptions) error {
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	so := sandboxOptions()
	so.SingleHost = true
	sim := apipodtest.New(so)
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(opts.streams.out, "APIPod sandbox listening on %s\n\n  export APIPOD_BASE_URL=%s APIPOD_API_KEY=%s\n\nPress Ctrl-C to stop.\n",
		url, url, sandboxKey)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
}
