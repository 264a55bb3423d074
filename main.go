// Command mongoose-go is a multi-tenant XMPP server with an embedded replicated store.
package main

import "github.com/mongoose-go/mongoose-go/cmd"

func main() { cmd.Execute() }
