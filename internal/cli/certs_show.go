package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/pkg/pipeline"
)

type certsShowFlags struct {
	certsFlags
	output string
}

func newCertsShowCmd(s *streams) *cobra.Command {
	f := &certsShowFlags{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the root and intermediate CAs: subjects, issuers, SANs, expiry",
		Long: `show prints, for the root CA and the intermediate CA of every cluster (or
those --cluster names), the subject, issuer, SANs, key, serial and validity.
It never prints key material. Intermediates that expire within 30 days are
warned about on stderr.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json"); err != nil {
				return err
			}
			store, err := certStore(s, &f.config)
			if err != nil {
				return err
			}
			infos, err := store.Describe()
			if err != nil {
				if isMissing(err) {
					return fmt.Errorf("certs: %w\nhint: run 'wookie certs init' first", err)
				}
				return fmt.Errorf("certs: %w", err)
			}
			if len(f.clusters) > 0 {
				infos = slices.DeleteFunc(infos, func(i cert.Info) bool {
					return i.Cluster != "" && !slices.Contains(f.clusters, i.Cluster)
				})
			}
			now := time.Now()
			for _, i := range infos {
				if msg := pipeline.ExpiryWarning(i, now); msg != "" {
					warn(s, &f.config, []string{msg})
				}
			}
			var buf bytes.Buffer
			if f.output == "json" {
				if infos == nil {
					infos = []cert.Info{}
				}
				enc := json.NewEncoder(&buf)
				enc.SetIndent("", "  ")
				if err := enc.Encode(infos); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CA\tSUBJECT\tISSUER\tSANS\tKEY\tNOT AFTER\tDAYS LEFT")
				for _, i := range infos {
					ca := "root"
					if i.Cluster != "" {
						ca = i.Cluster
					}
					sans := strings.Join(i.SANs, ",")
					if sans == "" {
						sans = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %d\t%s\t%d\n", ca, i.Subject, i.Issuer, sans, i.KeyAlgorithm, i.KeySize,
						i.NotAfter.UTC().Format("2006-01-02"), int(i.NotAfter.Sub(now).Hours()/24))
				}
				tw.Flush()
			}
			_, err = s.out.Write(buf.Bytes())
			return err
		},
	}
	addCertsFlags(cmd, &f.certsFlags)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	return cmd
}
