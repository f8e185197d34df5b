// The console page: connects to its namespace; the page's features are built on this connection.
import { connectStaff } from "./staff_socket.js";

const app = document.getElementById("console-app");
const status = document.getElementById("console-status");
connectStaff(app.dataset.namespace, status);
