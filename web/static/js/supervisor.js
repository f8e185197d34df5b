// The supervisor page: connects to its namespace; the page's features are built on this connection.
import { connectStaff } from "./staff_socket.js";

const app = document.getElementById("supervisor-app");
const status = document.getElementById("supervisor-status");
connectStaff(app.dataset.namespace, status);
