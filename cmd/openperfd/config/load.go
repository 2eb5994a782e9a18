// Load: the flags parsed, the config file read, both merged by koanf over
// the defaults and decoded into a Config, which is then checked.

package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Load parses args (without the program name) and returns the
// configuration, or an error whose message is one line, names the flag or
// key (with file and line for YAML) and says what is wrong. With -h/--help
// it returns ErrHelp.
func Load(args []string) (*Config, error) {
	return load(args, readConfigFile)
}

// load is Load with the config file reader as a parameter, for tests.
func load(args []string, read func(string) ([]byte, error)) (*Config, error) {
	cfg, err := loadConfig(args, read)
	if err != nil {
		if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
			return nil, err
		}
		return nil, oneLineError(err)
	}
	return cfg, nil
}

func loadConfig(args []string, read func(string) ([]byte, error)) (*Config, error) {
	fs := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, err
	}
	if v, _ := fs.GetBool(keyVersion); v {
		return nil, ErrVersion
	}

	l := &loader{fs: fs, k: koanf.New("."), bad: map[string]error{}}
	cfg := &Config{}
	// OpenPerf's getopt skips arguments that are not flags; so do we, and
	// say so ("--modules.packetio.dpdk.test-mode false" leaves "false").
	for _, a := range fs.Args() {
		cfg.Unknown = append(cfg.Unknown, fmt.Sprintf("argument %q", a))
	}
	fs.Visit(func(f *pflag.Flag) {
		if isIgnored(f.Name) {
			cfg.Ignored = append(cfg.Ignored, flagName(fs, f.Name))
		}
	})
	if fs.Changed(keyConfig) {
		if err := l.loadFile(cfg, read); err != nil {
			return nil, err
		}
	}
	// Flags last: changed ones override the file; defaults fill only keys
	// the file does not set.
	if err := l.k.Load(posflag.Provider(fs, ".", l.k), nil); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	l.convert()
	if err := l.k.UnmarshalWithConf("", cfg, koanf.UnmarshalConf{FlatPaths: true}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := l.validate(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadFile reads the -c/--config file into koanf and cfg.
func (l *loader) loadFile(cfg *Config, read func(string) ([]byte, error)) error {
	path, _ := l.fs.GetString(keyConfig)
	if path == "" {
		return fmt.Errorf("%s: empty file name", flagName(l.fs, keyConfig))
	}
	b, err := read(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flagName(l.fs, keyConfig), err)
	}
	l.file = &fileParser{path: path}
	if err := l.k.Load(rawBytes(b), l.file); err != nil {
		return err
	}
	cfg.ConfigFile = path
	cfg.Resources = l.file.resources
	cfg.Ignored = append(cfg.Ignored, l.file.ignored...)
	cfg.Unknown = append(cfg.Unknown, l.file.unknown...)
	return nil
}

// readConfigFile reads a regular file of at most MaxConfigFileSize bytes.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxConfigFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxConfigFileSize)
	}
	return b, nil
}

// rawBytes is a koanf.Provider of bytes already read.
type rawBytes []byte

func (b rawBytes) ReadBytes() ([]byte, error) { return b, nil }
func (b rawBytes) Read() (map[string]any, error) {
	return nil, errors.New("rawBytes provider needs a parser")
}

// loader holds the layers while Load merges, decodes and checks them.
type loader struct {
	fs   *pflag.FlagSet
	k    *koanf.Koanf
	file *fileParser      // nil without -c
	bad  map[string]error // values convert could not convert, by key
}

// where names the origin of key's value for error messages.
func (l *loader) where(key string) string {
	if l.fs.Changed(key) {
		return flagName(l.fs, key)
	}
	if l.file != nil {
		if line, ok := l.file.lines[key]; ok {
			return fmt.Sprintf("%s:%d: %s", l.file.path, line, key)
		}
	}
	return key
}

// oneLineError makes sure an error message is a single line.
func oneLineError(err error) error {
	msg := err.Error()
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	if clean == msg {
		return err
	}
	return &cleanError{msg: clean, err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
