package manifest

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxFileSize is the largest manifest read, in bytes.
const maxFileSize = 8 << 20

// supportedVersion is the only manifest version this package reads.
const supportedVersion = 1

var topKeys = []string{"version", "settings", "vars", "defaults", "jobs"}

// Load reads and parses the manifest at path. vars override the manifest's
// vars, as --var does. Problems in the manifest are returned as Errors.
func Load(path string, vars map[string]string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data, vars)
}

// Parse parses the manifest data read from the file name. vars override the
// manifest's vars, as --var does. If the manifest has any problem, Parse
// returns nil and Errors holding every problem found.
func Parse(name string, data []byte, vars map[string]string) (*Manifest, error) {
	p := &parser{file: name}
	root := p.document(data)
	if root == nil {
		return nil, p.err()
	}
	m := p.manifest(root, vars)
	p.checkOverrides(data, vars)
	if err := p.err(); err != nil {
		return nil, err
	}
	m.Path = name
	m.Dir = filepath.Dir(name)
	if abs, err := filepath.Abs(m.Dir); err == nil {
		m.Dir = abs
	}
	return m, nil
}

// document checks that data is one safe YAML document and returns its root
// node, or nil after reporting why not.
func (p *parser) document(data []byte) *yaml.Node {
	file := Pos{File: p.file}
	if len(data) > maxFileSize {
		p.add(file, "", "manifest is larger than %d MiB", maxFileSize>>20)
		return nil
	}
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		p.add(file, "", "manifest is UTF-16; save it as UTF-8")
		return nil
	}
	if !utf8.Valid(data) {
		at := invalidUTF8(data)
		p.add(p.offsetPos(data, at), "", "manifest is not valid UTF-8 (byte 0x%02x)", data[at])
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(file, "", "manifest is empty; it needs at least \"version: 1\" and jobs")
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.add(Pos{File: p.file, Line: extra.Line, Col: extra.Column}, "", "a manifest holds one YAML document; remove this second one (and its ---)")
		return nil
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		p.add(file, "", "manifest is empty; it needs at least \"version: 1\" and jobs")
		return nil
	}
	if p.rejectAliases(&doc) {
		return nil
	}
	return doc.Content[0]
}

// rejectAliases reports every alias in the tree under n, and whether there was
// one. Aliases are refused so that no manifest can expand into a huge tree.
func (p *parser) rejectAliases(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.add(p.pos(n), "", "YAML aliases (*%s) are not supported; use defaults or write the value out", n.Value)
		return true
	}
	found := false
	for _, c := range n.Content {
		found = p.rejectAliases(c) || found
	}
	return found
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError reports a syntax error from the YAML parser.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(Pos{File: p.file, Line: line}, "", "invalid YAML: %s", m[2])
		return
	}
	p.add(Pos{File: p.file}, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// invalidUTF8 returns the offset of the first byte of data that is not valid UTF-8.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// offsetPos returns the position of byte offset at in data; columns count runes.
func (p *parser) offsetPos(data []byte, at int) Pos {
	before := data[:at]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return Pos{File: p.file, Line: line, Col: col}
}

// manifest reads the top-level mapping.
func (p *parser) manifest(root *yaml.Node, overrides map[string]string) *Manifest {
	m := &Manifest{Settings: defaultSettings(), byID: make(map[string]*Job)}
	if root.Kind != yaml.MappingNode {
		p.add(p.pos(root), "", "manifest: want a mapping with %s, got %s", strings.Join(topKeys, ", "), describe(root))
		return m
	}
	top := make(map[string]*yaml.Node)
	for _, e := range p.entries(root, "manifest", "") {
		if !slices.Contains(topKeys, e.name) {
			p.unknownKey(e.key, "manifest", "", topKeys)
			continue
		}
		top[e.name] = e.val
	}
	if !p.version(root, top["version"], m) {
		return m
	}
	m.Vars = p.readVars(top["vars"], overrides)
	p.vars = m.Vars
	m.Settings = p.settings(top["settings"], m.Vars)
	p.jobs(m, top["defaults"], top["jobs"], root)
	return m
}

// version reads the version and reports whether the rest can be read as
// version 1.
func (p *parser) version(root, n *yaml.Node, m *Manifest) bool {
	if n == nil {
		p.add(p.pos(root), "", "version is missing; add \"version: %d\" at the top", supportedVersion)
		return true
	}
	v, ok := p.integer(n, "version", "")
	if !ok {
		return true
	}
	if v != supportedVersion {
		p.add(p.pos(n), "", "version: unsupported version %d; supported versions: %d", v, supportedVersion)
		return false
	}
	m.Version = v
	return true
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// readVars reads the vars mapping and applies the overrides.
func (p *parser) readVars(n *yaml.Node, overrides map[string]string) map[string]string {
	vars := make(map[string]string)
	if !isNull(n) && p.isMapping(n, "vars", "") {
		for _, e := range p.entries(n, "vars", "") {
			field := "vars." + e.name
			switch {
			case !varName.MatchString(e.name):
				p.add(p.pos(e.key), "", "vars: invalid name %q; use letters, digits, _ and -, starting with a letter or _", e.name)
			case e.val.Kind != yaml.ScalarNode || isNull(e.val):
				p.add(p.pos(e.val), "", "%s: want a string, number or boolean, got %s", field, describe(e.val))
			default:
				vars[e.name] = e.val.Value
				p.declared = append(p.declared, e.name)
			}
		}
	}
	for k, v := range overrides {
		vars[k] = v
	}
	return vars
}

// checkOverrides refuses a --var that the manifest neither declares under
// vars nor uses as ${var.NAME}: a mistyped name would otherwise be dropped
// without a word, and the run paid for with the value it meant to replace.
func (p *parser) checkOverrides(data []byte, overrides map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		if slices.Contains(p.declared, name) || bytes.Contains(data, []byte("${var."+name+"}")) {
			continue
		}
		p.add(Pos{File: p.file}, "", "--var %s: the manifest neither declares nor uses this variable%s",
			name, didYouMean(name, p.declared))
	}
}

// isMapping reports whether n is a mapping, reporting it if not.
func (p *parser) isMapping(n *yaml.Node, field, job string) bool {
	if n.Kind != yaml.MappingNode {
		p.add(p.pos(n), job, "%s: want a mapping, got %s", field, describe(n))
		return false
	}
	return true
}
