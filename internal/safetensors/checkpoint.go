package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names of a Hugging Face checkpoint directory.
const (
	// SingleFileName is the checkpoint of an unsharded model.
	SingleFileName = "model.safetensors"
	// IndexFileName lists, for a sharded model, which shard holds each tensor.
	IndexFileName = "model.safetensors.index.json"
)

// maxIndexSize caps the size of model.safetensors.index.json. Real indexes
// are well under 1 MB.
const maxIndexSize = 64 << 20

// Checkpoint is the set of tensors of a Hugging Face model directory, over
// one file or several shards.
type Checkpoint struct {
	dir    string
	files  []*File        // open shards
	names  []string       // shard file names, parallel to files
	where  map[string]int // tensor name → index into files
	sorted []string       // tensor names, sorted
	closed bool
}

// OpenDir opens the checkpoint in dir. When dir holds
// model.safetensors.index.json, its weight_map (tensor name → shard file)
// defines the checkpoint: every shard it names must exist and hold the
// tensors listed for it, and tensors of a shard that the index does not list
// are ignored. Otherwise dir must hold model.safetensors, and the checkpoint
// is all of its tensors. Errors name the file and, where it applies, the
// tensor.
func OpenDir(dir string) (*Checkpoint, error) {
	indexPath := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(indexPath); err == nil {
		return openIndexed(dir, indexPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &formatError{kind: ErrMalformed, path: dir,
				msg: fmt.Sprintf("neither %s nor %s found", SingleFileName, IndexFileName), err: fs.ErrNotExist}
		}
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Open(single)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{
		dir:   dir,
		files: []*File{f},
		names: []string{SingleFileName},
		where: make(map[string]int, len(f.tensors)),
	}
	for _, ti := range f.tensors {
		c.where[ti.Name] = 0
		c.sorted = append(c.sorted, ti.Name)
	}
	return c, nil
}

// openIndexed opens a sharded checkpoint described by indexPath.
func openIndexed(dir, indexPath string) (*Checkpoint, error) {
	weightMap, err := readIndex(indexPath)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{dir: dir, where: make(map[string]int, len(weightMap))}
	shardIdx := make(map[string]int)
	for _, name := range sortedKeys(weightMap) {
		shard := weightMap[name]
		i, ok := shardIdx[shard]
		if !ok {
			f, err := Open(filepath.Join(dir, shard))
			if err != nil {
				c.Close()
				var fe *formatError
				if errors.As(err, &fe) {
					return nil, err
				}
				return nil, &formatError{kind: ErrMalformed, path: indexPath,
					msg: fmt.Sprintf("shard %q (listed for tensor %q)", shard, name), err: errors.Unwrap(err)}
			}
			i = len(c.files)
			shardIdx[shard] = i
			c.files = append(c.files, f)
			c.names = append(c.names, shard)
		}
		if _, ok := c.files[i].byName[name]; !ok {
			c.Close()
			return nil, &formatError{kind: ErrMalformed, path: indexPath,
				msg: fmt.Sprintf("tensor %q is listed for shard %q but absent from it", name, shard)}
		}
		c.where[name] = i
		c.sorted = append(c.sorted, name)
	}
	return c, nil
}

// readIndex reads and checks the weight_map of model.safetensors.index.json.
// The index's "metadata" (total_size) is not needed and not read.
func readIndex(path string) (weightMap map[string]string, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if len(data) > maxIndexSize {
		return nil, &formatError{kind: ErrMalformed, path: path,
			msg: fmt.Sprintf("index larger than %d bytes", maxIndexSize)}
	}
	bad := func(format string, args ...any) error {
		return &formatError{kind: ErrMalformed, path: path, msg: fmt.Sprintf(format, args...)}
	}
	var rawMap json.RawMessage
	err = decodeObject(data, func(key string, raw json.RawMessage) error {
		if key == "weight_map" {
			rawMap = raw
		}
		return nil
	})
	if err == nil && rawMap == nil {
		err = bad("no weight_map")
	}
	if err == nil {
		weightMap = make(map[string]string)
		err = decodeObject(rawMap, func(name string, raw json.RawMessage) error {
			var shard string
			if err := json.Unmarshal(raw, &shard); err != nil {
				return bad("weight_map %q: shard is not a string", name)
			}
			if name == "" {
				return bad("weight_map: empty tensor name")
			}
			if shard == "" || shard != filepath.Base(shard) || !filepath.IsLocal(shard) || strings.ContainsAny(shard, `/\`) {
				return bad("weight_map %q: shard %q is not a file name in the directory", name, shard)
			}
			weightMap[name] = shard
			return nil
		})
	}
	if err != nil {
		var fe *formatError
		if errors.As(err, &fe) {
			fe.path = path
			return nil, err
		}
		return nil, bad("%v", err)
	}
	if len(weightMap) == 0 {
		return nil, bad("empty weight_map")
	}
	return weightMap, nil
}

// Lookup returns the named tensor. The error wraps ErrNotFound when there is
// no such tensor, and ErrUnsupported when its dtype is not one of U8, I8,
// BF16, F16 and F32.
func (c *Checkpoint) Lookup(name string) (Tensor, error) {
	if c.closed {
		return Tensor{}, fmt.Errorf("safetensors: %s: checkpoint is closed", c.dir)
	}
	i, ok := c.where[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%w: %q in %s", ErrNotFound, name, c.dir)
	}
	t, _ := c.files[i].Tensor(name)
	if !t.DType.Supported() {
		return Tensor{}, &formatError{kind: ErrUnsupported, path: filepath.Join(c.dir, c.names[i]),
			msg: fmt.Sprintf("tensor %q: dtype %s (supported: U8, I8, BF16, F16, F32)", name, t.DType)}
	}
	return t, nil
}

// Has reports whether the checkpoint holds the named tensor.
func (c *Checkpoint) Has(name string) bool {
	_, ok := c.where[name]
	return ok && !c.closed
}

// Tensors describes every tensor of the checkpoint, sorted by name. Offsets
// are relative to the data section of the tensor's own shard.
func (c *Checkpoint) Tensors() []TensorInfo {
	if c.closed {
		return nil
	}
	out := make([]TensorInfo, 0, len(c.sorted))
	for _, name := range c.sorted {
		f := c.files[c.where[name]]
		out = append(out, f.tensors[f.byName[name]])
	}
	return out
}

// Shard returns the file name (inside the directory) of the shard that holds
// the named tensor, and whether the tensor exists.
func (c *Checkpoint) Shard(name string) (string, bool) {
	i, ok := c.where[name]
	if !ok || c.closed {
		return "", false
	}
	return c.names[i], true
}

// Metadata returns the __metadata__ of the shard whose file name sorts first
// (nil when it has none). The map is shared and must not be modified.
func (c *Checkpoint) Metadata() map[string]string {
	if c.closed || len(c.files) == 0 {
		return nil
	}
	first := 0
	for i, n := range c.names {
		if n < c.names[first] {
			first = i
		}
	}
	return c.files[first].Metadata()
}

// Close releases every shard's mapping. Tensor data from the checkpoint must
// not be used afterwards. It is safe to call more than once.
func (c *Checkpoint) Close() error {
	if c == nil || c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	c.files = nil
	return errors.Join(errs...)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
