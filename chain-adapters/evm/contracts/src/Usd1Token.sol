// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// USD1: a 6-decimal ERC-20 that only configured minters can mint (each within its own
/// allowance) or burn, with pause and a blocklist (frozen accounts can neither send nor receive).
contract Usd1Token is ERC20, Pausable, AccessControl {
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant BLOCKLISTER_ROLE = keccak256("BLOCKLISTER_ROLE");
    bytes32 public constant MINTER_ADMIN_ROLE = keccak256("MINTER_ADMIN_ROLE");

    mapping(address => bool) public isMinter;
    mapping(address => uint256) public minterAllowance;
    mapping(address => bool) public blocklisted;

    event MinterConfigured(address indexed minter, uint256 allowance);
    event MinterRemoved(address indexed minter);
    event Mint(address indexed minter, address indexed to, uint256 amount);
    event Burn(address indexed burner, uint256 amount);
    event Blocklisted(address indexed account);
    event UnBlocklisted(address indexed account);

    error NotMinter(address account);
    error MintAllowanceExceeded(uint256 requested, uint256 allowance);
    error AccountBlocklisted(address account);
    error ZeroAmount();

    constructor(string memory name_, string memory symbol_, address admin) ERC20(name_, symbol_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(BLOCKLISTER_ROLE, admin);
        _grantRole(MINTER_ADMIN_ROLE, admin);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    modifier onlyMinter() {
        if (!isMinter[msg.sender]) revert NotMinter(msg.sender);
        _;
    }

    function configureMinter(address minter, uint256 allowance) external onlyRole(MINTER_ADMIN_ROLE) {
        isMinter[minter] = true;
        minterAllowance[minter] = allowance;
        emit MinterConfigured(minter, allowance);
    }

    function removeMinter(address minter) external onlyRole(MINTER_ADMIN_ROLE) {
        isMinter[minter] = false;
        minterAllowance[minter] = 0;
        emit MinterRemoved(minter);
    }

    function mint(address to, uint256 amount) external whenNotPaused onlyMinter returns (bool) {
        if (amount == 0) revert ZeroAmount();
        if (blocklisted[msg.sender]) revert AccountBlocklisted(msg.sender);
        uint256 allowance = minterAllowance[msg.sender];
        if (amount > allowance) revert MintAllowanceExceeded(amount, allowance);
        minterAllowance[msg.sender] = allowance - amount;
        _mint(to, amount);
        emit Mint(msg.sender, to, amount);
        return true;
    }

    /// A minter burns from its own balance (the messenger burns what it pulled from the user).
    function burn(uint256 amount) external whenNotPaused onlyMinter {
        if (amount == 0) revert ZeroAmount();
        _burn(msg.sender, amount);
        emit Burn(msg.sender, amount);
    }

    function blocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        blocklisted[account] = true;
        emit Blocklisted(account);
    }

    function unBlocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        blocklisted[account] = false;
        emit UnBlocklisted(account);
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function approve(address spender, uint256 value) public override whenNotPaused returns (bool) {
        if (blocklisted[msg.sender]) revert AccountBlocklisted(msg.sender);
        if (blocklisted[spender]) revert AccountBlocklisted(spender);
        return super.approve(spender, value);
    }

    /// Every balance change (transfer, mint, burn) passes here: paused or frozen stops it.
    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        if (blocklisted[from]) revert AccountBlocklisted(from);
        if (blocklisted[to]) revert AccountBlocklisted(to);
        if (blocklisted[msg.sender]) revert AccountBlocklisted(msg.sender);
        super._update(from, to, value);
    }
}
