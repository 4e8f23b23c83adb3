package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/plan"
)

// Generator makes the objects of a generated bundle (plan.Bundle.Generate)
// of the Plan cluster named cluster. StoreGenerator is the real one.
type Generator interface {
	Generate(ctx context.Context, cluster string, b *plan.Bundle) ([]*unstructured.Unstructured, error)
}

// OmittedBundle is a bundle of the Plan that Render left out because its
// objects carry secrets.
type OmittedBundle struct {
	Cluster string
	Batch   string
	Bundle  string
	// Why is WhySensitive, WhyGenerated or WhyNoGenerator.
	Why string
}

// The reasons of OmittedBundle.Why.
const (
	// WhySensitive: the bundle is marked sensitive and secrets were not
	// asked for.
	WhySensitive = "sensitive"
	// WhyGenerated: the bundle is generated from wookie's state and
	// secrets were not asked for.
	WhyGenerated = "generated"
	// WhyNoGenerator: secrets were asked for, but no Generator was given
	// to make the generated bundle.
	WhyNoGenerator = "no certificate store"
)

// withoutSecrets returns pc without the bundles opts leaves out, and those
// bundles. The dependsOn entries naming them are dropped from the bundles
// that stay, so that no output's graph points at a bundle it lacks.
func withoutSecrets(pc *plan.Cluster, opts Options) (*plan.Cluster, []OmittedBundle) {
	why := func(u *plan.Bundle) string {
		switch {
		case !u.IsSensitive():
			return ""
		case !opts.IncludeSecrets && u.Generate != nil:
			return WhyGenerated
		case !opts.IncludeSecrets:
			return WhySensitive
		case u.Generate != nil && opts.Generator == nil:
			return WhyNoGenerator
		}
		return ""
	}
	var omitted []OmittedBundle
	for _, b := range pc.Batches {
		for i := range b.Bundles {
			if w := why(&b.Bundles[i]); w != "" {
				omitted = append(omitted, OmittedBundle{Cluster: pc.Name, Batch: b.Name, Bundle: b.Bundles[i].Name, Why: w})
			}
		}
	}
	return plan.WithoutBundles(pc, func(u *plan.Bundle) bool { return why(u) != "" }), omitted
}

// generate makes the objects of the generated bundle u of cluster with g.
// They are checked as manifests are, and get the same treatment after.
func generate(ctx context.Context, cluster string, u *plan.Bundle, g Generator) ([]*Object, error) {
	source := "generate"
	if u.Generate.IstioCACerts != nil {
		source = "generate.istioCACerts"
	}
	if g == nil { // not reached: withoutSecrets leaves the bundle out
		return nil, fmt.Errorf("%s: no generator", source)
	}
	objs, err := g.Generate(ctx, cluster, u)
	if err != nil {
		return nil, err
	}
	out := make([]*Object, 0, len(objs))
	for i, o := range objs {
		if o == nil {
			return nil, fmt.Errorf("%s: object %d: nil", source, i)
		}
		if err := checkObject(o); err != nil {
			return nil, fmt.Errorf("%s: object %d: %w", source, i, err)
		}
		out = append(out, &Object{Unstructured: o, Source: source})
	}
	return out, nil
}

// StoreGenerator makes generated bundles from wookie's certificate store:
// istioCACerts is the Secret cacerts, in the bundle's namespace, of the
// intermediate CA the store keeps for the cluster it names.
type StoreGenerator struct {
	Store cert.Store
}

// Generate returns the objects of the generated bundle b. Material missing
// from the store gives a *MissingCertsError; material that does not check
// out (a key that does not match its certificate, a chain that does not
// lead to the root) the certificate store's error.
func (g StoreGenerator) Generate(_ context.Context, _ string, b *plan.Bundle) ([]*unstructured.Unstructured, error) {
	if b.Generate == nil || b.Generate.IstioCACerts == nil {
		return nil, errors.New("generate: nothing this generator knows")
	}
	name := b.Generate.IstioCACerts.Cluster
	files, _, err := g.Store.LoadIntermediate(name)
	if err != nil {
		// LoadIntermediate names the cluster; so does the message here.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &MissingCertsError{Cluster: name, Dir: g.Store.Dir, Err: err}
		}
		return nil, fmt.Errorf("intermediate CA of cluster %s: %w", name, err)
	}
	secret := &unstructured.Unstructured{Object: cert.CacertsSecret(files)}
	secret.SetNamespace(b.Namespace)
	return []*unstructured.Unstructured{secret}, nil
}

// MissingCertsError says that the certificate store lacks the material of
// a generated bundle: wookie certs init makes it.
type MissingCertsError struct {
	// Cluster names the intermediate CA; Dir is the store's directory.
	Cluster, Dir string
	// Err names what is missing.
	Err error
}

// Error says what is missing, and where.
func (e *MissingCertsError) Error() string {
	return fmt.Sprintf("no intermediate CA for cluster %s in %s: %v", e.Cluster, e.Dir, e.Err)
}

// Unwrap returns Err.
func (e *MissingCertsError) Unwrap() error { return e.Err }
