// Package hfconfig reads the config.json of a Hugging Face Llama-style or
// BitNet checkpoint: the hyper-parameters a forward pass needs and the BitNet
// quantization_config.
//
// [Parse] decodes and fills in defaults; [Config.Validate] then checks that
// the values make a runnable model. Errors wrap [ErrInvalid] (the config is
// wrong) or [ErrUnsupported] (it is valid, but asks for something this
// library does not do), and name the field.
//
// Defaults for absent (or null) fields follow transformers' config classes
// (HF-T BitNetConfig for model_type "bitnet", LlamaConfig otherwise), except
// where those defaults only fit one model; see the field comments.
package hfconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// Sentinel errors. Errors from this package wrap one of them.
var (
	// ErrInvalid is wrapped by errors about a config that is malformed or
	// inconsistent: bad JSON, a field of the wrong type, a missing required
	// field, a non-positive or absurd count, heads that do not divide.
	ErrInvalid = errors.New("hfconfig: invalid config")
	// ErrUnsupported is wrapped by errors about a valid config that asks for
	// something this library does not implement: quantization_config
	// use_rms_norm, another quant_method, RoPE scaling.
	ErrUnsupported = errors.New("hfconfig: unsupported")
)

// FileName is the name of the config file in a checkpoint directory.
const FileName = "config.json"

// Linear classes of quantization_config (transformers BitNetQuantConfig).
const (
	// LinearBitLinear is transformers' BitLinear: the layer output is
	// divided by weight_scale (weight_scale = 1/γ).
	LinearBitLinear = "bitlinear"
	// LinearAutoBitLinear is transformers' AutoBitLinear: the layer output
	// is multiplied by weight_scale (weight_scale = γ).
	LinearAutoBitLinear = "autobitlinear"
)

// Quantization modes of quantization_config.
const (
	// ModeOffline means the checkpoint holds packed ternary weights and
	// weight_scale tensors.
	ModeOffline = "offline"
	// ModeOnline means the checkpoint holds master weights, ternarized at
	// load (FORMATS.md decision 2).
	ModeOnline = "online"
)

// Limits beyond which a value is rejected as absurd. They are far above any
// published model and keep size products (hidden × vocab, ...) well inside
// an int64.
const (
	maxHidden       = 1 << 17
	maxIntermediate = 1 << 20
	maxLayers       = 1 << 12
	maxHeads        = 1 << 12
	maxHeadDim      = 1 << 12
	maxVocab        = 1 << 24
	maxPositions    = 1 << 24
	maxConfigSize   = 16 << 20
)

// Config is the part of config.json a Llama/BitNet forward pass needs.
// Parse fills in the defaults given in the field comments.
type Config struct {
	// Architectures is "architectures", e.g. ["BitNetForCausalLM"].
	Architectures []string
	// ModelType is "model_type", e.g. "bitnet" or "llama".
	ModelType string
	// HiddenSize is "hidden_size", the model width. Required.
	HiddenSize int
	// IntermediateSize is "intermediate_size", the FFN width. Required.
	IntermediateSize int
	// NumHiddenLayers is "num_hidden_layers". Required.
	NumHiddenLayers int
	// NumAttentionHeads is "num_attention_heads". Required.
	NumAttentionHeads int
	// NumKeyValueHeads is "num_key_value_heads". Default NumAttentionHeads,
	// as transformers does for null (LlamaConfig also for absent). HF-T
	// BitNetConfig's class default for an absent key is 5, 2B4T's value,
	// which fits no other model; 2B4T's config.json states it anyway.
	NumKeyValueHeads int
	// HeadDim is "head_dim", or 0 when absent: see HeadDimension.
	HeadDim int
	// VocabSize is "vocab_size". Required.
	VocabSize int
	// MaxPositionEmbeddings is "max_position_embeddings". Default 2048
	// (HF-T BitNetConfig and LlamaConfig).
	MaxPositionEmbeddings int
	// RMSNormEps is "rms_norm_eps". Default 1e-5 (BitNetConfig), 1e-6 for
	// other model types (LlamaConfig).
	RMSNormEps float64
	// RopeTheta is "rope_theta", or rope_parameters.rope_theta (the
	// transformers v5 spelling). Default 500000 (BitNetConfig), 10000 for
	// other model types (LlamaConfig).
	RopeTheta float64
	// RopeScaling is the type of "rope_scaling" (or of "rope_parameters"):
	// "" when absent, null or "default". Validate reports any other value
	// as unsupported.
	RopeScaling string
	// HiddenAct is "hidden_act", the FFN gate activation ("relu2", "silu").
	// Default "relu2" (BitNetConfig), "silu" for other model types
	// (LlamaConfig). Validate does not restrict it; the model decides.
	HiddenAct string
	// TieWordEmbeddings is "tie_word_embeddings", nil when absent: see
	// TiedEmbeddings.
	TieWordEmbeddings *bool
	// AttentionBias is "attention_bias" (default false): q/k/v/o biases.
	AttentionBias bool
	// MLPBias is "mlp_bias" (default false): gate/up/down biases.
	MLPBias bool
	// BOSTokenID is "bos_token_id", nil when absent or null. There is no
	// default: BitNetConfig's 128000 only fits the Llama 3 vocabulary, and
	// the tokenizer knows the token (FORMATS.md decision 8).
	BOSTokenID *int
	// EOSTokenIDs is "eos_token_id", which may be one id or a list; empty
	// when absent or null.
	EOSTokenIDs []int
	// TorchDType is "torch_dtype" (or "dtype", the transformers v5
	// spelling), e.g. "bfloat16"; "" when absent. Informational.
	TorchDType string
	// Quantization is "quantization_config", nil when absent or null.
	Quantization *QuantizationConfig

	// missing lists required fields absent from the parsed JSON.
	missing []string
	// source is the file Load read, for error messages.
	source string
}

// QuantizationConfig is config.json's "quantization_config" (transformers
// BitNetQuantConfig). Absent fields are left empty; the Config methods
// LinearClass and QuantizationMode apply the defaults.
type QuantizationConfig struct {
	// QuantMethod is "quant_method"; "bitnet" for BitNet checkpoints.
	QuantMethod string
	// LinearClass is "linear_class": LinearBitLinear or LinearAutoBitLinear,
	// or "" when absent.
	LinearClass string
	// QuantizationMode is "quantization_mode": ModeOffline or ModeOnline, or
	// "" when absent.
	QuantizationMode string
	// UseRMSNorm is "use_rms_norm": an extra RMSNorm inside every BitNet
	// projection. 2B4T does not use it; Validate reports true as unsupported.
	UseRMSNorm bool
	// RMSNormEps is "rms_norm_eps" of that extra norm, 0 when absent.
	RMSNormEps float64
	// ModulesToNotConvert is "modules_to_not_convert": module names that stay
	// full precision.
	ModulesToNotConvert []string
}

// Load reads and parses the config file at path (normally
// <dir>/config.json). It does not validate: call Validate.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hfconfig: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("hfconfig: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, path, maxConfigSize)
	}
	return parse(data, path)
}

// Parse decodes a config.json document and fills in defaults. It reports
// malformed JSON and fields of the wrong type; everything else is Validate's.
func Parse(data []byte) (*Config, error) { return parse(data, "") }

// parse is Parse for a document read from source (a path, or "").
func parse(data []byte, source string) (*Config, error) {
	where := ""
	if source != "" {
		where = source + ": "
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: %s%v", ErrInvalid, where, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: %snot a JSON object", ErrInvalid, where)
	}
	d := decoder{obj: obj, prefix: where}
	c := &Config{source: source}
	d.strings("architectures", &c.Architectures)
	d.string("model_type", &c.ModelType)
	bitnet := c.ModelType == "" || c.ModelType == "bitnet"

	for _, f := range []struct {
		name string
		dst  *int
	}{
		{"hidden_size", &c.HiddenSize},
		{"intermediate_size", &c.IntermediateSize},
		{"num_hidden_layers", &c.NumHiddenLayers},
		{"num_attention_heads", &c.NumAttentionHeads},
		{"vocab_size", &c.VocabSize},
	} {
		if !d.int(f.name, f.dst) {
			c.missing = append(c.missing, f.name)
		}
	}
	if !d.int("num_key_value_heads", &c.NumKeyValueHeads) {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	d.int("head_dim", &c.HeadDim)
	if !d.int("max_position_embeddings", &c.MaxPositionEmbeddings) {
		c.MaxPositionEmbeddings = 2048
	}
	if !d.float("rms_norm_eps", &c.RMSNormEps) {
		c.RMSNormEps = pick(bitnet, 1e-5, 1e-6)
	}
	if !d.string("hidden_act", &c.HiddenAct) {
		c.HiddenAct = pick(bitnet, "relu2", "silu")
	}
	haveTheta := d.float("rope_theta", &c.RopeTheta)
	d.ropeScaling("rope_scaling", &c.RopeScaling)
	if params, ok := d.object("rope_parameters"); ok {
		// transformers v5: {"rope_type": ..., "rope_theta": ..., ...}.
		pd := decoder{obj: params, prefix: where + "rope_parameters."}
		if !haveTheta {
			haveTheta = pd.float("rope_theta", &c.RopeTheta)
		}
		if c.RopeScaling == "" {
			pd.ropeType(&c.RopeScaling)
		}
		d.merge(pd)
	}
	if !haveTheta {
		c.RopeTheta = pick(bitnet, 500000.0, 10000.0)
	}
	var tie bool
	if d.bool("tie_word_embeddings", &tie) {
		c.TieWordEmbeddings = &tie
	}
	d.bool("attention_bias", &c.AttentionBias)
	d.bool("mlp_bias", &c.MLPBias)
	var bos int
	if d.int("bos_token_id", &bos) {
		c.BOSTokenID = &bos
	}
	d.ints("eos_token_id", &c.EOSTokenIDs)
	if !d.string("torch_dtype", &c.TorchDType) {
		d.string("dtype", &c.TorchDType)
	}
	if q, ok := d.object("quantization_config"); ok {
		qd := decoder{obj: q, prefix: where + "quantization_config."}
		c.Quantization = &QuantizationConfig{}
		qd.string("quant_method", &c.Quantization.QuantMethod)
		qd.string("linear_class", &c.Quantization.LinearClass)
		qd.string("quantization_mode", &c.Quantization.QuantizationMode)
		qd.bool("use_rms_norm", &c.Quantization.UseRMSNorm)
		qd.float("rms_norm_eps", &c.Quantization.RMSNormEps)
		qd.strings("modules_to_not_convert", &c.Quantization.ModulesToNotConvert)
		d.merge(qd)
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// HeadDimension returns the per-head width: HeadDim when set, else
// HiddenSize / NumAttentionHeads.
func (c *Config) HeadDimension() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	if c.NumAttentionHeads <= 0 {
		return 0
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// LinearClass returns quantization_config.linear_class, or LinearBitLinear
// when it (or the whole quantization_config) is absent, as in transformers'
// BitNetQuantConfig (FORMATS.md decision 6).
func (c *Config) LinearClass() string {
	if c.Quantization == nil || c.Quantization.LinearClass == "" {
		return LinearBitLinear
	}
	return c.Quantization.LinearClass
}

// QuantizationMode returns quantization_config.quantization_mode, ModeOffline
// when the field is absent (transformers' BitNetQuantConfig default), and ""
// when there is no quantization_config at all: then the checkpoint holds
// plain float weights, which FORMATS.md decision 2 ternarizes.
func (c *Config) QuantizationMode() string {
	if c.Quantization == nil {
		return ""
	}
	if c.Quantization.QuantizationMode == "" {
		return ModeOffline
	}
	return c.Quantization.QuantizationMode
}

// TiedEmbeddings returns tie_word_embeddings, or false when absent, the
// default of transformers' PretrainedConfig and BitNetConfig. (2B4T's
// config.json says true and its checkpoint has no lm_head.weight.)
func (c *Config) TiedEmbeddings() bool {
	return c.TieWordEmbeddings != nil && *c.TieWordEmbeddings
}

// Validate checks that the config describes a model this library can run.
// Problems that make the config wrong are returned together, wrapping
// ErrInvalid; only when there are none, features this library lacks are
// returned, wrapping ErrUnsupported. Each message names the field.
func (c *Config) Validate() error {
	var bad []error
	invalid := func(format string, args ...any) {
		bad = append(bad, fmt.Errorf("%w: %s"+format, append([]any{ErrInvalid, c.where()}, args...)...))
	}
	for _, name := range c.missing {
		invalid("%s is missing", name)
	}
	isMissing := func(name string) bool {
		for _, m := range c.missing {
			if m == name {
				return true
			}
		}
		return false
	}
	counts := []struct {
		name string
		v    int
		max  int
	}{
		{"hidden_size", c.HiddenSize, maxHidden},
		{"intermediate_size", c.IntermediateSize, maxIntermediate},
		{"num_hidden_layers", c.NumHiddenLayers, maxLayers},
		{"num_attention_heads", c.NumAttentionHeads, maxHeads},
		{"num_key_value_heads", c.NumKeyValueHeads, maxHeads},
		{"vocab_size", c.VocabSize, maxVocab},
		{"max_position_embeddings", c.MaxPositionEmbeddings, maxPositions},
	}
	countsOK := true
	for _, f := range counts {
		switch {
		case isMissing(f.name):
			countsOK = false
		case f.v <= 0:
			invalid("%s is %d, must be positive", f.name, f.v)
			countsOK = false
		case f.v > f.max:
			invalid("%s is %d, more than the limit %d", f.name, f.v, f.max)
			countsOK = false
		}
	}
	if c.HeadDim < 0 || c.HeadDim > maxHeadDim {
		invalid("head_dim is %d, must be in 1..%d", c.HeadDim, maxHeadDim)
		countsOK = false
	}
	if countsOK {
		if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
			invalid("num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
				c.NumAttentionHeads, c.NumKeyValueHeads)
		}
		if c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
			invalid("hidden_size (%d) is not a multiple of num_attention_heads (%d)",
				c.HiddenSize, c.NumAttentionHeads)
		} else if hd := c.HeadDimension(); hd%2 != 0 {
			invalid("head dimension %d is odd; rotary embeddings need it even", hd)
		}
		for _, id := range c.tokenIDs() {
			if id.v < 0 || id.v >= c.VocabSize {
				invalid("%s %d is outside the vocabulary (vocab_size %d)", id.name, id.v, c.VocabSize)
			}
		}
	}
	if !(c.RMSNormEps > 0 && c.RMSNormEps < 1) {
		invalid("rms_norm_eps is %g, must be in (0, 1)", c.RMSNormEps)
	}
	if !(c.RopeTheta > 0 && c.RopeTheta <= math.MaxFloat32) {
		invalid("rope_theta is %g, must be positive and finite", c.RopeTheta)
	}
	if c.HiddenAct == "" {
		invalid("hidden_act is empty")
	}
	q := c.Quantization
	if q != nil {
		if q.LinearClass != "" && q.LinearClass != LinearBitLinear && q.LinearClass != LinearAutoBitLinear {
			invalid("quantization_config.linear_class is %q, want %q or %q", q.LinearClass, LinearBitLinear, LinearAutoBitLinear)
		}
		if q.QuantizationMode != "" && q.QuantizationMode != ModeOffline && q.QuantizationMode != ModeOnline {
			invalid("quantization_config.quantization_mode is %q, want %q or %q", q.QuantizationMode, ModeOffline, ModeOnline)
		}
		if q.UseRMSNorm && !(q.RMSNormEps >= 0 && q.RMSNormEps < 1) {
			invalid("quantization_config.rms_norm_eps is %g, must be in [0, 1)", q.RMSNormEps)
		}
	}
	if len(bad) > 0 {
		return errors.Join(bad...)
	}

	var unsup []error
	unsupported := func(format string, args ...any) {
		unsup = append(unsup, fmt.Errorf("%w: %s"+format, append([]any{ErrUnsupported, c.where()}, args...)...))
	}
	if q != nil {
		if q.QuantMethod != "" && q.QuantMethod != "bitnet" {
			unsupported("quantization_config.quant_method %q (only \"bitnet\")", q.QuantMethod)
		}
		if q.UseRMSNorm {
			unsupported("quantization_config.use_rms_norm is true (an RMSNorm inside every projection)")
		}
	}
	if c.RopeScaling != "" {
		unsupported("rope_scaling type %q", c.RopeScaling)
	}
	return errors.Join(unsup...)
}

// where returns "<source>: " for messages, or "" when the config was not
// read by Load.
func (c *Config) where() string {
	if c.source == "" {
		return ""
	}
	return c.source + ": "
}

// tokenID is a named token id from the config.
type tokenID struct {
	name string
	v    int
}

// tokenIDs lists the config's special token ids.
func (c *Config) tokenIDs() []tokenID {
	var ids []tokenID
	if c.BOSTokenID != nil {
		ids = append(ids, tokenID{"bos_token_id", *c.BOSTokenID})
	}
	for _, id := range c.EOSTokenIDs {
		ids = append(ids, tokenID{"eos_token_id", id})
	}
	return ids
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// decoder reads typed fields from a JSON object, keeping the first error.
// Each getter reports whether the field was present and not null.
type decoder struct {
	obj    map[string]json.RawMessage
	prefix string // prefix for field names in errors ("path: quantization_config.")
	err    error
}

// raw returns a field's JSON, or false when it is absent or null.
func (d *decoder) raw(name string) (json.RawMessage, bool) {
	r, ok := d.obj[name]
	if !ok || string(bytes.TrimSpace(r)) == "null" {
		return nil, false
	}
	return r, true
}

func (d *decoder) fail(name, want string, r json.RawMessage) {
	if d.err == nil {
		s := string(r)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		d.err = fmt.Errorf("%w: %s%s: want %s, got %s", ErrInvalid, d.prefix, name, want, s)
	}
}

// merge keeps the first error of a nested decoder.
func (d *decoder) merge(o decoder) {
	if d.err == nil {
		d.err = o.err
	}
}

func (d *decoder) int(name string, dst *int) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	v, ok := parseInt(r)
	if !ok {
		d.fail(name, "an integer", r)
		return false
	}
	*dst = v
	return true
}

// parseInt accepts a JSON integer, or a number with an integral value that
// fits an int32 (Python writes 1e5 as 100000.0).
func parseInt(r json.RawMessage) (int, bool) {
	var n json.Number
	if len(r) == 0 || r[0] == '"' {
		return 0, false
	}
	if err := json.Unmarshal(r, &n); err != nil {
		return 0, false
	}
	if v, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if int64(int(v)) != v {
			return 0, false
		}
		return int(v), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

func (d *decoder) ints(name string, dst *[]int) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	if v, ok := parseInt(r); ok {
		*dst = []int{v}
		return true
	}
	var list []json.RawMessage
	if err := json.Unmarshal(r, &list); err != nil {
		d.fail(name, "an integer or a list of integers", r)
		return false
	}
	out := make([]int, 0, len(list))
	for _, e := range list {
		v, ok := parseInt(e)
		if !ok {
			d.fail(name, "an integer or a list of integers", r)
			return false
		}
		out = append(out, v)
	}
	*dst = out
	return true
}

func (d *decoder) float(name string, dst *float64) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(r, dst); err != nil {
		d.fail(name, "a number", r)
		return false
	}
	return true
}

func (d *decoder) bool(name string, dst *bool) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(r, dst); err != nil {
		d.fail(name, "true or false", r)
		return false
	}
	return true
}

func (d *decoder) string(name string, dst *string) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(r, dst); err != nil {
		d.fail(name, "a string", r)
		return false
	}
	return true
}

func (d *decoder) strings(name string, dst *[]string) bool {
	r, ok := d.raw(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(r, dst); err != nil {
		d.fail(name, "a list of strings", r)
		return false
	}
	return true
}

func (d *decoder) object(name string) (map[string]json.RawMessage, bool) {
	r, ok := d.raw(name)
	if !ok {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r, &obj); err != nil {
		d.fail(name, "an object", r)
		return nil, false
	}
	return obj, true
}

// ropeScaling reads a rope_scaling object's type ("rope_type", or "type" in
// older configs) into dst; "default" counts as none, a missing type as
// "unknown".
func (d *decoder) ropeScaling(name string, dst *string) {
	obj, ok := d.object(name)
	if !ok {
		return
	}
	sd := decoder{obj: obj, prefix: d.prefix + name + "."}
	if !sd.ropeType(dst) {
		*dst = "unknown"
	}
	d.merge(sd)
}

// ropeType reads "rope_type" or "type" into dst and reports whether either
// was present; "default" counts as none.
func (d *decoder) ropeType(dst *string) bool {
	ok := d.string("rope_type", dst) || d.string("type", dst)
	if *dst == "default" {
		*dst = ""
	}
	return ok
}
