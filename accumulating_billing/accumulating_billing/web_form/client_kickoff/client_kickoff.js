frappe.ready(function () {
	// all checks happen on the server; nothing to add here
});
