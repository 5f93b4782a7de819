package hfconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadGolden(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		class string
		mode  string
	}{
		{"tiny-hf-bf16", LinearAutoBitLinear, ModeOnline},
		{"tiny-hf-packed", LinearBitLinear, ModeOffline},
		{"tiny-hf-packed-mul", LinearAutoBitLinear, ModeOffline},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			c, err := Load(filepath.Join("../../testdata/hf", tc.dir, FileName))
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			assert.Equal(t, []string{"BitNetForCausalLM"}, c.Architectures)
			assert.Equal(t, "bitnet", c.ModelType)
			assert.Equal(t, 256, c.HiddenSize)
			assert.Equal(t, 512, c.IntermediateSize)
			assert.Equal(t, 3, c.NumHiddenLayers)
			assert.Equal(t, 4, c.NumAttentionHeads)
			assert.Equal(t, 2, c.NumKeyValueHeads)
			assert.Equal(t, 0, c.HeadDim)
			assert.Equal(t, 64, c.HeadDimension())
			assert.Equal(t, 512, c.VocabSize)
			assert.Equal(t, 256, c.MaxPositionEmbeddings)
			assert.Equal(t, 1e-5, c.RMSNormEps)
			assert.Equal(t, 10000.0, c.RopeTheta)
			assert.Empty(t, c.RopeScaling)
			assert.Equal(t, "relu2", c.HiddenAct)
			assert.True(t, c.TiedEmbeddings())
			require.NotNil(t, c.BOSTokenID)
			assert.Equal(t, 509, *c.BOSTokenID)
			assert.Equal(t, []int{510}, c.EOSTokenIDs)
			assert.Equal(t, "bfloat16", c.TorchDType)
			require.NotNil(t, c.Quantization)
			assert.Equal(t, "bitnet", c.Quantization.QuantMethod)
			assert.False(t, c.Quantization.UseRMSNorm)
			assert.Equal(t, tc.class, c.LinearClass())
			assert.Equal(t, tc.mode, c.QuantizationMode())
		})
	}
}

// config2B4T is the config.json of microsoft/bitnet-b1.58-2B-4T (packed), as
// FORMATS.md §1.1 and §3e describe it.
const config2B4T = `{
  "architectures": ["BitNetForCausalLM"],
  "model_type": "bitnet",
  "hidden_size": 2560, "intermediate_size": 6912, "num_hidden_layers": 30,
  "num_attention_heads": 20, "num_key_value_heads": 5, "vocab_size": 128256,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "hidden_act": "relu2", "tie_word_embeddings": true,
  "bos_token_id": 128000, "eos_token_id": 128001, "rope_scaling": null,
  "torch_dtype": "bfloat16", "use_cache": true,
  "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "offline"}
}`

func Test2B4T(t *testing.T) {
	c, err := Parse([]byte(config2B4T))
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	assert.Equal(t, 128, c.HeadDimension())
	assert.Equal(t, 5, c.NumKeyValueHeads)
	assert.Equal(t, 500000.0, c.RopeTheta)
	assert.Equal(t, LinearAutoBitLinear, c.LinearClass())
	assert.Equal(t, ModeOffline, c.QuantizationMode())
	assert.True(t, c.TiedEmbeddings())
}

// minimal holds only the required fields.
const minimal = `{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 4, "vocab_size": 100%s}`

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		extra     string
		eps       float64
		theta     float64
		act       string
		kvHeads   int
		class     string
		mode      string
		quantized bool
	}{
		{"bitnet", `, "model_type": "bitnet"`, 1e-5, 500000, "relu2", 4, LinearBitLinear, "", false},
		{"no model_type", ``, 1e-5, 500000, "relu2", 4, LinearBitLinear, "", false},
		{"llama", `, "model_type": "llama"`, 1e-6, 10000, "silu", 4, LinearBitLinear, "", false},
		{"nulls", `, "num_key_value_heads": null, "rope_theta": null, "head_dim": null, "quantization_config": null, "eos_token_id": null`,
			1e-5, 500000, "relu2", 4, LinearBitLinear, "", false},
		{"empty quantization_config", `, "quantization_config": {"quant_method": "bitnet"}`,
			1e-5, 500000, "relu2", 4, LinearBitLinear, ModeOffline, true},
		{"rope_parameters", `, "rope_parameters": {"rope_type": "default", "rope_theta": 250000.0}`,
			1e-5, 250000, "relu2", 4, LinearBitLinear, "", false},
		{"rope_theta wins over rope_parameters", `, "rope_theta": 1000, "rope_parameters": {"rope_theta": 2000}`,
			1e-5, 1000, "relu2", 4, LinearBitLinear, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(fmt.Sprintf(minimal, tc.extra)))
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			assert.Equal(t, tc.eps, c.RMSNormEps)
			assert.Equal(t, tc.theta, c.RopeTheta)
			assert.Equal(t, tc.act, c.HiddenAct)
			assert.Equal(t, tc.kvHeads, c.NumKeyValueHeads)
			assert.Equal(t, 16, c.HeadDimension())
			assert.Equal(t, 2048, c.MaxPositionEmbeddings)
			assert.Equal(t, tc.class, c.LinearClass())
			assert.Equal(t, tc.mode, c.QuantizationMode())
			assert.Equal(t, tc.quantized, c.Quantization != nil)
			assert.Nil(t, c.TieWordEmbeddings)
			assert.False(t, c.TiedEmbeddings())
			assert.Nil(t, c.BOSTokenID)
			assert.Empty(t, c.EOSTokenIDs)
			assert.Empty(t, c.RopeScaling)
		})
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse([]byte(fmt.Sprintf(minimal, `, "eos_token_id": [98, 99], "head_dim": 32, "tie_word_embeddings": false,
		"max_position_embeddings": 4096.0, "attention_bias": true, "dtype": "float16",
		"quantization_config": {"quant_method": "bitnet", "use_rms_norm": true, "rms_norm_eps": 1e-6,
		"modules_to_not_convert": ["lm_head"]}`)))
	require.NoError(t, err)
	assert.Equal(t, []int{98, 99}, c.EOSTokenIDs)
	assert.Equal(t, 32, c.HeadDimension())
	require.NotNil(t, c.TieWordEmbeddings)
	assert.False(t, c.TiedEmbeddings())
	assert.Equal(t, 4096, c.MaxPositionEmbeddings)
	assert.True(t, c.AttentionBias)
	assert.Equal(t, "float16", c.TorchDType)
	assert.True(t, c.Quantization.UseRMSNorm)
	assert.Equal(t, 1e-6, c.Quantization.RMSNormEps)
	assert.Equal(t, []string{"lm_head"}, c.Quantization.ModulesToNotConvert)
	err = c.Validate()
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.NotErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "use_rms_norm")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		msg  string
	}{
		{"not json", `{"hidden_size": `, "unexpected end"},
		{"not an object", `[1, 2]`, "cannot unmarshal"},
		{"null document", `null`, "not a JSON object"},
		{"string int", fmt.Sprintf(minimal, `, "head_dim": "64"`), `head_dim: want an integer, got "64"`},
		{"fractional int", `{"hidden_size": 64.5}`, "hidden_size: want an integer, got 64.5"},
		{"int overflow", `{"vocab_size": 99999999999999999999}`, "vocab_size: want an integer"},
		{"bool as string", fmt.Sprintf(minimal, `, "tie_word_embeddings": "true"`), "tie_word_embeddings: want true or false"},
		{"eos list of strings", fmt.Sprintf(minimal, `, "eos_token_id": ["a"]`), "eos_token_id: want an integer or a list of integers"},
		{"eps string", fmt.Sprintf(minimal, `, "rms_norm_eps": "1e-5"`), "rms_norm_eps: want a number"},
		{"quant not object", fmt.Sprintf(minimal, `, "quantization_config": "bitnet"`), "quantization_config: want an object"},
		{"quant field type", fmt.Sprintf(minimal, `, "quantization_config": {"linear_class": 3}`), "quantization_config.linear_class: want a string"},
		{"architectures type", fmt.Sprintf(minimal, `, "architectures": "BitNetForCausalLM"`), "architectures: want a list of strings"},
		{"rope_scaling type", fmt.Sprintf(minimal, `, "rope_scaling": {"rope_type": 1}`), "rope_scaling.rope_type: want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestValidate(t *testing.T) {
	base := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(config2B4T), &base))
	for _, tc := range []struct {
		name string
		edit map[string]any // nil value deletes the key
		want error
		msgs []string
	}{
		{"missing hidden_size", map[string]any{"hidden_size": nil}, ErrInvalid, []string{"hidden_size is missing"}},
		{"missing several", map[string]any{"vocab_size": nil, "num_hidden_layers": nil},
			ErrInvalid, []string{"vocab_size is missing", "num_hidden_layers is missing"}},
		{"zero layers", map[string]any{"num_hidden_layers": 0}, ErrInvalid, []string{"num_hidden_layers is 0, must be positive"}},
		{"negative ffn", map[string]any{"intermediate_size": -1}, ErrInvalid, []string{"intermediate_size is -1"}},
		{"zero kv heads", map[string]any{"num_key_value_heads": 0}, ErrInvalid, []string{"num_key_value_heads is 0"}},
		{"absurd hidden", map[string]any{"hidden_size": 1 << 30}, ErrInvalid, []string{"hidden_size is 1073741824, more than the limit"}},
		{"absurd vocab", map[string]any{"vocab_size": 1 << 30}, ErrInvalid, []string{"vocab_size is 1073741824, more than the limit"}},
		{"absurd positions", map[string]any{"max_position_embeddings": 1 << 30}, ErrInvalid, []string{"max_position_embeddings"}},
		{"heads do not divide width", map[string]any{"num_attention_heads": 7, "num_key_value_heads": 7},
			ErrInvalid, []string{"hidden_size (2560) is not a multiple of num_attention_heads (7)"}},
		{"kv heads do not divide heads", map[string]any{"num_key_value_heads": 3},
			ErrInvalid, []string{"num_attention_heads (20) is not a multiple of num_key_value_heads (3)"}},
		{"explicit head_dim", map[string]any{"num_attention_heads": 7, "num_key_value_heads": 7, "head_dim": 128}, nil, nil},
		{"odd head_dim", map[string]any{"head_dim": 127}, ErrInvalid, []string{"head dimension 127 is odd"}},
		{"negative head_dim", map[string]any{"head_dim": -2}, ErrInvalid, []string{"head_dim is -2"}},
		{"eps zero", map[string]any{"rms_norm_eps": 0}, ErrInvalid, []string{"rms_norm_eps is 0"}},
		{"theta negative", map[string]any{"rope_theta": -1}, ErrInvalid, []string{"rope_theta is -1"}},
		{"empty act", map[string]any{"hidden_act": ""}, ErrInvalid, []string{"hidden_act is empty"}},
		{"bos outside vocab", map[string]any{"bos_token_id": 128256}, ErrInvalid, []string{"bos_token_id 128256 is outside the vocabulary"}},
		{"eos outside vocab", map[string]any{"eos_token_id": []int{128001, -1}}, ErrInvalid, []string{"eos_token_id -1 is outside"}},
		{"bad linear_class", map[string]any{"quantization_config": map[string]any{"linear_class": "bitnet158"}},
			ErrInvalid, []string{`quantization_config.linear_class is "bitnet158"`}},
		{"bad mode", map[string]any{"quantization_config": map[string]any{"quantization_mode": "static"}},
			ErrInvalid, []string{`quantization_config.quantization_mode is "static"`}},
		{"use_rms_norm", map[string]any{"quantization_config": map[string]any{"quant_method": "bitnet", "use_rms_norm": true}},
			ErrUnsupported, []string{"quantization_config.use_rms_norm is true"}},
		{"other quant_method", map[string]any{"quantization_config": map[string]any{"quant_method": "gptq"}},
			ErrUnsupported, []string{`quant_method "gptq"`}},
		{"rope scaling", map[string]any{"rope_scaling": map[string]any{"rope_type": "llama3", "factor": 8.0}},
			ErrUnsupported, []string{`rope_scaling type "llama3"`}},
		{"rope scaling old key", map[string]any{"rope_scaling": map[string]any{"type": "linear"}},
			ErrUnsupported, []string{`rope_scaling type "linear"`}},
		{"rope scaling no type", map[string]any{"rope_scaling": map[string]any{"factor": 2.0}},
			ErrUnsupported, []string{`rope_scaling type "unknown"`}},
		{"rope scaling default", map[string]any{"rope_scaling": map[string]any{"rope_type": "default"}}, nil, nil},
		{"rope_parameters yarn", map[string]any{"rope_parameters": map[string]any{"rope_type": "yarn", "rope_theta": 1e6}},
			ErrUnsupported, []string{`rope_scaling type "yarn"`}},
		{"invalid before unsupported", map[string]any{"hidden_size": nil, "rope_scaling": map[string]any{"rope_type": "llama3"}},
			ErrInvalid, []string{"hidden_size is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tc.edit {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			doc, err := json.Marshal(m)
			require.NoError(t, err)
			c, err := Parse(doc)
			require.NoError(t, err)
			err = c.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			if tc.want == ErrInvalid {
				assert.NotErrorIs(t, err, ErrUnsupported)
			} else {
				assert.NotErrorIs(t, err, ErrInvalid)
			}
			for _, msg := range tc.msgs {
				assert.ErrorContains(t, err, msg)
			}
		})
	}
}

func TestValidateHandBuilt(t *testing.T) {
	var c Config
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "hidden_size is 0, must be positive")
	assert.Equal(t, 0, c.HeadDimension())
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, FileName))
	assert.ErrorIs(t, err, os.ErrNotExist)

	p := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(p, []byte(`{"hidden_size": "x"}`), 0o644))
	_, err = Load(p)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, p+": hidden_size: want an integer")

	require.NoError(t, os.WriteFile(p, []byte(`{"hidden_size": 64}`), 0o644))
	c, err := Load(p)
	require.NoError(t, err)
	err = c.Validate()
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, p+": vocab_size is missing")
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(config2B4T))
	f.Add([]byte(fmt.Sprintf(minimal, "")))
	f.Add([]byte(`{"eos_token_id": [1, 2.0, 3e0], "rope_parameters": {"rope_type": "yarn"}}`))
	f.Add([]byte(`{"num_attention_heads": 0, "num_key_value_heads": 0, "head_dim": 0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parse error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		err = c.Validate()
		if err == nil {
			if c.HeadDimension() <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
				t.Fatalf("accepted inconsistent config %+v", c)
			}
			return
		}
		if errors.Is(err, ErrInvalid) == errors.Is(err, ErrUnsupported) {
			t.Fatalf("validate error is not exactly one kind: %v", err)
		}
	})
}
