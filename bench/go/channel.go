// One producer, three consumers over a Go channel of the given capacity: messages per second.
// Usage: channel <capacity> <messages>
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	capacity, _ := strconv.Atoi(os.Args[1])
	messages, _ := strconv.Atoi(os.Args[2])
	best := 0.0
	for round := 0; round < 5; round++ {
		ch := make(chan int, capacity)
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < 3; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range ch {
				}
			}()
		}
		for i := 0; i < messages; i++ {
			ch <- i
		}
		close(ch)
		wg.Wait()
		rate := float64(messages) / time.Since(start).Seconds()
		if rate > best {
			best = rate
		}
	}
	fmt.Printf("%.0f\n", best)
}
