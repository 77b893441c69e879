package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/apipod/apipod-batch/apipod"
)

// modelsOptions are the inputs of `models`.
type modelsOptions struct {
	global  *globalOptions
	model   string // "" lists every model
	streams *streams
}

func newModelsCmd(g *globalOptions, s *streams) *cobra.Command {
	opts := &modelsOptions{global: g, streams: s}
	return &cobra.Command{
		Use:   "models [MODEL]",
		Short: "List the models apipod-batch knows, or every parameter of one",
		Long: "models lists every model of the registry: id, kind, what it does and the inputs it\n" +
			"requires. models MODEL shows each parameter of one model with its type, allowed values,\n" +
			"default and limits; an alias is accepted with a note.\n\n" +
			"With --json, the list is {\"version\": 1, \"models\": [model, ...]} and one model is\n" +
			"{\"version\": 1, \"model\": model}, where model holds id, kind, summary, create_path,\n" +
			"required, needs_one_of, aliases, prompt {min_length, max_length}, rules and params, and each param\n" +
			"name, type, enum, default, minimum, maximum, max_items and description.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.model = args[0]
			}
			return runModels(opts)
		},
	}
}

// modelsVersion is the version of the JSON that models prints.
const modelsVersion = 1

// modelJSON is one model in the JSON of `models`.
type modelJSON struct {
	ID         string      `json:"id"`
	Kind       apipod.Kind `json:"kind"`
	Summary    string      `json:"summary"`
	CreatePath string      `json:"create_path"`
	Required   []string    `json:"required"`
	NeedsOneOf []string    `json:"needs_one_of,omitempty"`
	Aliases    []string    `json:"aliases"`
	Prompt     *promptJSON `json:"prompt,omitempty"`
	Rules      []string    `json:"rules,omitempty"`
	Params     []paramJSON `json:"params,omitempty"`
}

type promptJSON struct {
	MinLength int `json:"min_length"`
	MaxLength int `json:"max_length"`
}

type paramJSON struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Enum        []string `json:"enum,omitempty"`
	Default     any      `json:"default,omitempty"`
	Minimum     *int     `json:"minimum,omitempty"`
	Maximum     *int     `json:"maximum,omitempty"`
	MaxItems    int      `json:"max_items,omitempty"`
	Required    bool     `json:"required"`
	Description string   `json:"description,omitempty"`
}

// runModels prints the registry, or one model of it.
func runModels(opts *modelsOptions) error {
	if opts.model == "" {
		if opts.global.json {
			list := []modelJSON{}
			for _, m := range apipod.Models() {
				list = append(list, modelSummaryJSON(m))
			}
			return writeJSON(opts.streams.out, struct {
				Version int         `json:"version"`
				Models  []modelJSON `json:"models"`
			}{modelsVersion, list})
		}
		return modelsTable(opts.streams.out)
	}
	m, err := findModel(opts.model, opts.streams.err)
	if err != nil {
		return err
	}
	if opts.global.json {
		return writeJSON(opts.streams.out, struct {
			Version int       `json:"version"`
			Model   modelJSON `json:"model"`
		}{modelsVersion, modelDetailJSON(m)})
	}
	return modelDetail(opts.streams.out, m)
}

// findModel looks a model up by id or alias, noting an alias on notes.
func findModel(id string, notes io.Writer) (*apipod.Model, error) {
	if to := apipod.ResolveAlias(id); to != "" {
		fmt.Fprintf(notes, "note: model %q is called %q; showing that\n", id, to)
		id = to
	}
	if m, ok := apipod.LookupModel(id); ok {
		return m, nil
	}
	msg := fmt.Sprintf("unknown model %q", id)
	if s := apipod.SuggestModels(id); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, ", "))
	}
	return nil, &unknownModelError{msg}
}

// unknownModelError is `models ID` with an id the registry does not know.
type unknownModelError struct{ msg string }

func (e *unknownModelError) Error() string { return e.msg }
func (e *unknownModelError) Hint() string {
	return "run apipod-batch models for the list of known ids"
}

// modelsTable prints one row per model.
func modelsTable(w io.Writer) error {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("MODEL", "KIND", "WHAT IT DOES", "REQUIRED INPUTS")
	for _, m := range apipod.Models() {
		if err := t.Append(m.ID, string(m.Kind), m.Summary, strings.Join(requiredInputs(m), ", ")); err != nil {
			return err
		}
	}
	return t.Render()
}

// modelDetail prints a model's header lines, a row per parameter and the
// rules no single parameter states.
func modelDetail(w io.Writer, m *apipod.Model) error {
	fmt.Fprintf(w, "%s: %s\n", m.ID, m.Summary)
	fmt.Fprintf(w, "kind:    %s (POST %s)\n", m.Kind, m.Kind.CreatePath())
	if as := apipod.Aliases(m.ID); len(as) > 0 {
		fmt.Fprintf(w, "aliases: %s\n", strings.Join(as, ", "))
	}
	fmt.Fprintf(w, "prompt:  required, %s\n", promptLimits(m))
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal), tablewriter.WithRowMaxWidth(44))
	t.Header("PARAMETER", "TYPE", "ALLOWED VALUES", "DEFAULT", "NOTES")
	for _, p := range m.Params {
		if err := t.Append(p.Name, string(p.Type), allowedValues(m, &p), defaultText(p.Default), limits(m, &p)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, r := range rules(m) {
		fmt.Fprintf(w, "- %s\n", r)
	}
	return nil
}

// referenceFields are the fields of which a reference-to-video request
// needs at least one.
var referenceFields = []string{"image_urls", "video_urls", "audio_urls"}

// requiredInputs names the fields a request for m must hold.
func requiredInputs(m *apipod.Model) []string {
	in := append([]string{"prompt"}, m.Required...)
	if m.NeedsReference {
		in = append(in, "one of "+strings.Join(referenceFields, ", "))
	}
	return in
}

func promptLimits(m *apipod.Model) string {
	if m.PromptMin > 1 {
		return fmt.Sprintf("%d to %d characters", m.PromptMin, m.PromptMax)
	}
	return fmt.Sprintf("at most %d characters", m.PromptMax)
}

func allowedValues(m *apipod.Model, p *apipod.Param) string {
	switch {
	case p.Type == apipod.TypeURLs && m.AssetIDs:
		return "http(s) URLs, assetId://…, ${jobs.…}"
	case p.Type == apipod.TypeURLs:
		return "http(s) URLs, ${jobs.…}"
	case p.Min != nil && p.Max != nil:
		return fmt.Sprintf("%d to %d", *p.Min, *p.Max)
	case len(p.Enum) > 0:
		return strings.Join(p.Enum, ", ")
	case p.Type == apipod.TypeBoolean:
		return "true, false"
	}
	return "any"
}

func defaultText(v any) string {
	switch d := v.(type) {
	case nil:
		return "-"
	case string:
		if d == "" {
			return `""`
		}
		return d
	}
	return fmt.Sprint(v)
}

func limits(m *apipod.Model, p *apipod.Param) string {
	var ls []string
	if slices.Contains(m.Required, p.Name) {
		ls = append(ls, "required")
	}
	if p.MaxItems > 0 {
		ls = append(ls, fmt.Sprintf("at most %d", p.MaxItems))
	}
	if p.Doc != "" {
		ls = append(ls, p.Doc)
	}
	return strings.Join(ls, "; ")
}

// rules states the checks that span parameters.
func rules(m *apipod.Model) []string {
	var rs []string
	if m.NeedsReference {
		rs = append(rs, "at least one reference: image_urls, video_urls or audio_urls")
		rs = append(rs, "audio_urls only together with image_urls or video_urls")
	}
	if m.AssetIDs {
		rs = append(rs, "URL lists also take assetId://… references from the Seedance asset library")
	}
	return rs
}

func modelSummaryJSON(m *apipod.Model) modelJSON {
	j := modelJSON{
		ID: m.ID, Kind: m.Kind, Summary: m.Summary, CreatePath: m.Kind.CreatePath(),
		Required: append([]string{"prompt"}, m.Required...), Aliases: append([]string{}, apipod.Aliases(m.ID)...),
	}
	if m.NeedsReference {
		j.NeedsOneOf = referenceFields
	}
	return j
}

func modelDetailJSON(m *apipod.Model) modelJSON {
	j := modelSummaryJSON(m)
	j.Prompt = &promptJSON{MinLength: m.PromptMin, MaxLength: m.PromptMax}
	j.Rules = rules(m)
	for _, p := range m.Params {
		j.Params = append(j.Params, paramJSON{
			Name: p.Name, Type: string(p.Type), Enum: p.Enum, Default: p.Default,
			Minimum: p.Min, Maximum: p.Max, MaxItems: p.MaxItems,
			Required: slices.Contains(m.Required, p.Name), Description: p.Doc,
		})
	}
	return j
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
