package apipodtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apipod/apipod-batch/apipod/apipodtest"
)

func ExampleNewServer() {
	s := apipodtest.NewServer(apipodtest.Options{})
	defer s.Close()

	req, _ := http.NewRequest("POST", s.URL+"/v1/images/generations",
		strings.NewReader(`{"model":"nano-banana-2","prompt":"a red mug","aspect_ratio":"1:1"}`))
	req.Header.Set("Authorization", "Bearer sk-sandbox")
	req.Header.Set("Idempotency-Key", "mug-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var created struct {
		Code int
		Data struct {
			TaskID string `json:"task_id"`
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, created.Code, resp.Header.Get("X-Request-Cost"))

	time.Sleep(100 * time.Millisecond) // images take about 40ms
	req, _ = http.NewRequest("GET", s.URL+"/v1/images/status/"+created.Data.TaskID, nil)
	req.Header.Set("Authorization", "Bearer sk-sandbox")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var st struct {
		Data struct {
			Status string
			Result []string
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	_, served := s.Served(st.Data.Result[0])
	fmt.Println(st.Data.Status, len(st.Data.Result), served)
	// Output:
	// 200 200 0.0400
	// completed 1 true
}
