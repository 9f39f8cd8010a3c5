package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
)

// EnvPrefix starts every environment variable that overrides a setting.
const EnvPrefix = "TRACKSYNC"

// envKeys are the settings an environment variable can override: the
// fields tagged env. They are the scalar settings a deployment changes per
// machine; trackers, users and flows take their per-machine values through
// ${VAR} instead, because a variable name cannot say which list entry or
// tracker option it means.
var envKeys = envPaths(reflect.TypeFor[Config](), "")

// envKeyReplacer turns a key path into the rest of its variable name, the
// same way for viper (Load) and for EnvName (Parse and docs).
var envKeyReplacer = strings.NewReplacer(".", "_", "-", "_")

// EnvKeys lists the key paths that TRACKSYNC_ variables override.
func EnvKeys() []string { return slices.Clone(envKeys) }

// EnvName returns the environment variable that overrides key:
// state.dsn -> TRACKSYNC_STATE_DSN.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(envKeyReplacer.Replace(key))
}

// viperOverrides looks the override keys up in the process environment
// through viper, which is where Load gets them. Viper is used only for this
// layer: its own key store folds case and splits keys on dots, which would
// break tracker names and custom field names like "custom:Story Points".
func viperOverrides() func(key string) (string, bool) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(envKeyReplacer)
	v.AutomaticEnv()
	for _, k := range envKeys {
		// AutomaticEnv only answers for keys viper knows; bind them.
		_ = v.BindEnv(k)
	}
	return func(key string) (string, bool) {
		if !v.IsSet(key) {
			return "", false
		}
		s := v.GetString(key)
		return s, s != ""
	}
}
