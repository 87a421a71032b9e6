package io.pgactive.apply;

import io.pgactive.pgoutput.PgOutputMessage.Relation;
import java.sql.SQLException;

/** The local side of the relation map (see {@link LocalTable}), for those that need a table's facts. */
interface LocalTables {

    /** The local table of the stream's latest definition of {@code rel}'s relation, read if not known. */
    LocalTable of(Relation rel) throws SQLException;
}
