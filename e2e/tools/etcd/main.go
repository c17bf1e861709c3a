// Command etcd is a real etcd server built from the go.etcd.io/etcd/server/v3 module.
//
// `go install go.etcd.io/etcd/server/v3@…` is refused because etcd's own go.mod uses local replace
// directives; a tiny main module of our own that calls etcdmain sidesteps that. The version is the
// one kube-apiserver's own test scripts use (Debian's 3.4 lacks RequestWatchProgress).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
