package adapters

import "testing"

func TestEndpointClass(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/rest/api/3/issue/PLAT-12/transitions", "/rest/api/3/issue/{id}/transitions"},
		{"/rest/api/2/search", "/rest/api/2/search"},
		{"/rest/api/3/search/jql", "/rest/api/3/search/jql"},
		{"/repos/acme/platform/issues/45/comments", "/repos/{owner}/{repo}/issues/{id}/comments"},
		{"/repos/acme/platform/issues", "/repos/{owner}/{repo}/issues"},
		{"/app/installations/7890123/access_tokens", "/app/installations/{id}/access_tokens"},
		{"/api/v3/repos/acme/app/issues/7", "/api/v3/repos/{owner}/{repo}/issues/{id}"},
		{"/api/1.0/tasks/1200000000000042/stories", "/api/1.0/tasks/{id}/stories"},
		{"/api/1.0/sections/1200000000000007/addTask", "/api/1.0/sections/{id}/addTask"},
	} {
		if got := EndpointClass(tc.in); got != tc.want {
			t.Errorf("EndpointClass(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
