// Baseline for the /act benchmark: the seed's Go quick-start (its ternaries fixed), net/http.
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"time"
)

type AgentState struct {
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Timestamp int64  `json:"timestamp"`
}

func main() {
	http.HandleFunc("/act", func(w http.ResponseWriter, r *http.Request) {
		state := AgentState{Status: "REJECTED", Reason: "Missing trust header", Timestamp: time.Now().Unix()}
		if r.Header.Get("X-Trusted") == "true" {
			state.Status, state.Reason = "EXECUTED", "Auth passed"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(state)
	})
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
