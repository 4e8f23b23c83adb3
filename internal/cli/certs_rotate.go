package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
)

func newCertsRotateCmd(s *streams) *cobra.Command {
	f := &certsFlags{}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Issue new intermediate CAs under the same root",
		Long: `rotate replaces the intermediate CA of every cluster of the Plan (or those
--cluster names) with a new one signed by the same root, so workloads of the
mesh keep trusting each other. Deploy afterwards to update the clusters'
cacerts Secrets; istiod picks them up.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, names, err := certClusters(s, f)
			if err != nil {
				return err
			}
			store, err := p.CertStore()
			if err != nil {
				return err
			}
			for _, name := range names {
				if err := store.Rotate(name, cert.IntermediateOptions{}); err != nil {
					if isMissing(err) {
						return fmt.Errorf("certs: cluster %s: %w\nhint: run 'wookie certs init' first", name, err)
					}
					return fmt.Errorf("certs: cluster %s: %w", name, err)
				}
				say(s, &f.config, "✓ cluster %s: new intermediate CA", name)
			}
			return nil
		},
	}
	addCertsFlags(cmd, f)
	return cmd
}
