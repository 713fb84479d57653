// actionlint (github.com/rhysd/actionlint), built by the lab like its other Go tools, to check
// the upgrade workflow it ships (.github/workflows/envoy-upgrade.yml) in its own test suite.
package main

import (
	"os"

	"github.com/rhysd/actionlint"
)

func main() {
	cmd := actionlint.Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cmd.Main(os.Args))
}
