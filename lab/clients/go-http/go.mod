module envoy-fault-lab/clients/go-http

go 1.21
