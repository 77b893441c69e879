package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

//go:embed starter/jobs.yaml starter/workflow.yml
var starter embed.FS

// workflowPath is where `init --ci github` writes the workflow, under DIR.
const workflowPath = ".github/workflows/apipod-batch.yml"

func newInitCmd(s *streams) *cobra.Command {
	var force bool
	var ci string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented starter manifest (and with --ci github a workflow)",
		Long: "init writes DIR/jobs.yaml (DIR defaults to the current folder): a commented manifest with\n" +
			"a few jobs to start from. It refuses to replace an existing file unless --force. With\n" +
			"--ci github it also writes " + workflowPath + ", which validates the manifest on\n" +
			"pull requests and applies it on main, caching the lockfile and uploading the outputs\n" +
			"and the html report.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) > 0 {
				dir = args[0]
			}
			files := map[string]string{"jobs.yaml": "starter/jobs.yaml"}
			switch ci {
			case "":
			case "github":
				files[workflowPath] = "starter/workflow.yml"
			default:
				return fmt.Errorf("--ci %q: only github is supported", ci)
			}
			names := []string{"jobs.yaml"}
			if files[workflowPath] != "" {
				names = append(names, workflowPath)
			}
			for _, name := range names { // check them all before writing any
				path := filepath.Join(dir, filepath.FromSlash(name))
				if _, err := os.Stat(path); err == nil && !force {
					return &existsError{path}
				} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			for _, name := range names {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := writeStarter(path, files[name]); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "%s wrote %s\n", symOK, path)
			}
			fmt.Fprintf(s.out, "Next: apipod-batch apply --sandbox %s (no key, no cost)\n", filepath.Join(dir, "jobs.yaml"))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace existing files")
	cmd.Flags().StringVar(&ci, "ci", "", "also write a CI workflow: github")
	_ = cmd.RegisterFlagCompletionFunc("ci", cobra.FixedCompletions([]string{"github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// writeStarter copies an embedded starter file to path, creating folders.
func writeStarter(path, src string) error {
	data, err := starter.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// existsError is init refusing to replace a file.
type existsError struct{ path string }

func (e *existsError) Error() string { return e.path + " already exists; nothing was written" }
func (e *existsError) Hint() string  { return "pass --force to replace it" }
