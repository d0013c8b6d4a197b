import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();

// caCertIdentifier: "rds-ca-2019" is what the console showed before
export const analytics = new aws.rds.Instance("analytics", {
    identifier: "analytics-db",
    engine: "postgres",
    instanceClass: "db.t4g.large",
    allocatedStorage: 50,
    caCertIdentifier: "rds-ca-2019",
});

export const events = new aws.rds.Instance("events", {
    identifier: "events-db",
    engine: "postgres",
    instanceClass: "db.t4g.large",
    caCertIdentifier: config.require("eventsCa"),
});
