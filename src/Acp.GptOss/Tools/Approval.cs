namespace Acp.GptOss.Tools;

/// <summary>What a tool call needs before it runs.</summary>
internal enum Approval
{
    /// <summary>Nothing: it only reads the workspace.</summary>
    None,

    /// <summary>It changes files: allowed in the Code mode, asked in the Ask mode.</summary>
    Edit,

    /// <summary>It runs something (a command, an MCP tool): asked in every mode.</summary>
    Execute,
}
