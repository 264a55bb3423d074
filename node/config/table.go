package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// parser collects problems while the decoded TOML tree is walked.
type parser struct {
	probs Problems
	notes []string // keys served by the embedded store, see Config.EmbeddedStoreNotes
}

func (p *parser) errorf(key, format string, args ...any) {
	p.probs = append(p.probs, Problem{Severity: Error, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(key, format string, args ...any) {
	p.probs = append(p.probs, Problem{Severity: Warning, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// hasErrorUnder reports whether an error was already recorded for key or a
// key below it, so that follow-up checks do not pile on.
func (p *parser) hasErrorUnder(key string) bool {
	for _, pr := range p.probs {
		if pr.Severity == Error && (pr.Key == key || strings.HasPrefix(pr.Key, key+".") || strings.HasPrefix(pr.Key, key+"[")) {
			return true
		}
	}
	return false
}

// tbl is one decoded TOML table together with its dotted path. Every key read
// through it is marked as used, so that finish can report the rest by their
// full path (e.g. "general.hostz").
type tbl struct {
	p    *parser
	path string
	m    map[string]any
	used map[string]bool
}

// joinKey appends key k to path (either may be empty).
func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// indexKey renders the path of element i of an array of tables.
func indexKey(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// asTable wraps v as a table, reporting an error at path when it is not one.
func (p *parser) asTable(path string, v any) (*tbl, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		p.errorf(path, "must be a table, got %s", typeName(v))
		return nil, false
	}
	return &tbl{p: p, path: path, m: m, used: map[string]bool{}}, true
}

// emptyTable stands in for an absent section so that defaults apply.
func (p *parser) emptyTable(path string) *tbl {
	return &tbl{p: p, path: path, m: map[string]any{}, used: map[string]bool{}}
}

// asTableList accepts both arrays of tables ([[x]]) and inline arrays of
// inline tables (x = [{...}]); BurntSushi/toml decodes them differently.
func (p *parser) asTableList(path string, v any) ([]*tbl, bool) {
	var items []any
	switch x := v.(type) {
	case []map[string]any:
		for _, m := range x {
			items = append(items, m)
		}
	case []any:
		items = x
	default:
		p.errorf(path, "must be an array of tables, got %s", typeName(v))
		return nil, false
	}
	out := make([]*tbl, 0, len(items))
	ok := true
	for i, it := range items {
		t, good := p.asTable(indexKey(path, i), it)
		if !good {
			ok = false
			continue
		}
		out = append(out, t)
	}
	return out, ok
}

func (t *tbl) key(k string) string { return joinKey(t.path, k) }

func (t *tbl) has(k string) bool {
	_, ok := t.m[k]
	return ok
}

// raw returns the value of k and marks it used.
func (t *tbl) raw(k string) (any, bool) {
	v, ok := t.m[k]
	if ok {
		t.used[k] = true
	}
	return v, ok
}

// keys returns the table's keys in sorted order, so problems come out in a
// stable order.
func (t *tbl) keys() []string { return slices.Sorted(maps.Keys(t.m)) }

func (t *tbl) str(k, def string) string {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		t.p.errorf(t.key(k), "must be a string, got %s", valueText(v))
		return def
	}
	return s
}

// nonEmptyStr is str that also rejects "".
func (t *tbl) nonEmptyStr(k, def string) string {
	v, present := t.m[k]
	s := t.str(k, def)
	if vs, isStr := v.(string); present && isStr && vs == "" {
		t.p.errorf(t.key(k), "must not be empty")
		return def
	}
	return s
}

// required reports a missing key and returns false.
func (t *tbl) required(k string) bool {
	if t.has(k) {
		return true
	}
	t.p.errorf(t.key(k), "required")
	return false
}

func (t *tbl) boolean(k string, def bool) bool {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		t.p.errorf(t.key(k), "must be a boolean, got %s", valueText(v))
		return def
	}
	return b
}

// integer reads an int in [lo, hi].
func (t *tbl) integer(k string, def, lo, hi int64) int64 {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	n, ok := v.(int64)
	if !ok || n < lo || n > hi {
		t.p.errorf(t.key(k), "must be %s, got %s", rangeText(lo, hi), valueText(v))
		return def
	}
	return n
}

// intOneOf reads an int that must be one of allowed.
func (t *tbl) intOneOf(k string, def int64, allowed ...int64) int64 {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	n, isInt := v.(int64)
	if !isInt || !slices.Contains(allowed, n) {
		t.p.errorf(t.key(k), "must be one of %v, got %s", allowed, valueText(v))
		return def
	}
	return n
}

// intOrInfinity reads an int >= lo or the string "infinity", which yields 0:
// throughout Config, 0 stands for MongooseIM's "infinity".
func (t *tbl) intOrInfinity(k string, def, lo int64) int64 {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	if s, isStr := v.(string); isStr && s == "infinity" {
		return 0
	}
	n, ok := v.(int64)
	if !ok || n < lo {
		t.p.errorf(t.key(k), "must be %s or \"infinity\", got %s", rangeText(lo, math.MaxInt64), valueText(v))
		return def
	}
	return n
}

func (t *tbl) enum(k, def string, allowed ...string) string {
	v, ok := t.raw(k)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr || !slices.Contains(allowed, s) {
		t.p.errorf(t.key(k), "must be one of %s, got %s", quoteList(allowed), valueText(v))
		return def
	}
	return s
}

// strList reads an array of strings; present reports whether the key exists.
func (t *tbl) strList(k string) (out []string, present bool) {
	v, ok := t.raw(k)
	if !ok {
		return nil, false
	}
	list, ok := v.([]any)
	if !ok {
		t.p.errorf(t.key(k), "must be an array of strings, got %s", typeName(v))
		return nil, true
	}
	out = make([]string, 0, len(list))
	for i, it := range list {
		s, ok := it.(string)
		if !ok {
			t.p.errorf(indexKey(t.key(k), i), "must be a string, got %s", typeName(it))
			continue
		}
		out = append(out, s)
	}
	return out, true
}

// sub returns the subtable k, or nil when absent or not a table.
func (t *tbl) sub(k string) *tbl {
	v, ok := t.raw(k)
	if !ok {
		return nil
	}
	s, _ := t.p.asTable(t.key(k), v)
	return s
}

// ignore marks keys as accepted-but-ignored: a warning per key present.
func (t *tbl) ignore(keys ...string) {
	for _, k := range keys {
		if _, ok := t.raw(k); ok {
			t.p.warnf(t.key(k), "accepted for MongooseIM compatibility, ignored")
		}
	}
}

// accept marks keys as used without any problem: options that are
// meaningless here because the embedded store replaces them (e.g. backend).
func (t *tbl) accept(keys ...string) {
	for _, k := range keys {
		t.raw(k)
	}
}

// finish reports every unread key as an error: a typo in a known section
// must not silently fall back to a default.
func (t *tbl) finish() {
	for _, k := range t.keys() {
		if !t.used[k] {
			t.p.errorf(t.key(k), "unknown key")
		}
	}
}

// finishLenient reports unread keys as warnings, for sections whose option
// lists this product only partly knows (module options, pools).
func (t *tbl) finishLenient() {
	for _, k := range t.keys() {
		if !t.used[k] {
			t.p.warnf(t.key(k), "unknown option, ignored")
		}
	}
}

func rangeText(lo, hi int64) string {
	if hi >= math.MaxInt32 { // large enough to be no limit a reader cares about
		hi = math.MaxInt64
	}
	switch {
	case lo == 0 && hi == math.MaxInt64:
		return "a non-negative integer"
	case lo == 1 && hi == math.MaxInt64:
		return "a positive integer"
	case hi == math.MaxInt64:
		return fmt.Sprintf("an integer >= %d", lo)
	}
	return fmt.Sprintf("an integer between %d and %d", lo, hi)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// typeName names a decoded TOML value's type the way TOML does.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case map[string]any:
		return "table"
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	case nil:
		return "nothing"
	}
	return "datetime"
}

// valueText renders a scalar for a message, or its type for anything else.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case int64, float64, bool:
		return fmt.Sprint(x)
	}
	return typeName(v)
}
