package moduletest

// Options is a module.Options from a flat map of option paths to values (int, string
// or bool).
type Options map[string]any

// Has implements module.Options.
func (o Options) Has(path string) bool { _, ok := o[path]; return ok }

// Int implements module.Options.
func (o Options) Int(path string, def int) int {
	if v, ok := o[path].(int); ok {
		return v
	}
	return def
}

// String implements module.Options.
func (o Options) String(path, def string) string {
	if v, ok := o[path].(string); ok {
		return v
	}
	return def
}

// Bool implements module.Options.
func (o Options) Bool(path string, def bool) bool {
	if v, ok := o[path].(bool); ok {
		return v
	}
	return def
}
